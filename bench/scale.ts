/**
 * Scale: 10,000 requests at concurrency 256 through at most 64 sockets, the ConnectionService
 * (`maxSockets: 64`) and, as the baseline, undici's `Pool` (`connections: 64`). Each client runs in
 * its own child process (started with --expose-gc) so that RSS and file descriptors are its own:
 * errors, peak RSS, RSS growth over the run (after GC), file descriptors left open after the client
 * closed (against the count with the servers up, before the client existed) and after everything
 * (servers too) closed (against the count at process start), counted in /proc/self/fd.
 *
 *   node bench/build/scale.js [--requests=10000] [--concurrency=256]
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as Undici from "undici"
import {
  arg,
  BODY,
  certificates,
  connectionService,
  dnsServers,
  fmt,
  gc,
  HEADERS,
  HOST,
  loadEffect,
  loadPromise,
  mib,
  note,
  openFds,
  PATH,
  percentile,
  perSecond,
  ratio,
  type RunResult,
  servicePost,
  sleep,
  table,
  tlsServers
} from "./Harness.js"

const REQUESTS = arg("requests", 10_000)
const CONCURRENCY = arg("concurrency", 256)
const ADDRESS = "127.0.5.1"

interface Report {
  readonly client: string
  readonly errors: number
  readonly firstError: string | undefined
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly peakRss: number
  readonly rssBefore: number
  readonly rssAfter: number
  readonly fdsAtStart: number
  readonly fdsServersUp: number
  readonly fdsBefore: number
  readonly fdsAfterClient: number
  readonly fdsAfterAll: number
  readonly serverConnections: number
}

const child = async (which: "undici" | "cs"): Promise<Report> => {
  const fdsAtStart = openFds()
  const certs = await certificates()
  const tls = await tlsServers([ADDRESS], certs)
  const dns = await dnsServers([{ address: "127.0.5.53" }], [{ name: HOST, type: "A", value: ADDRESS, ttl: 60 }])
  const fdsServersUp = openFds()
  let peakRss = 0
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss())
  }, 10)
  let run: (n: number) => Promise<RunResult>
  let close: () => Promise<void>
  if (which === "undici") {
    const pool = new Undici.Pool(`https://${ADDRESS}:${tls.port}`, {
      connections: 64,
      connect: { ca: certs.ca, servername: HOST }
    })
    run = (n) =>
      loadPromise(
        n,
        CONCURRENCY,
        () =>
          pool.request({ path: PATH, method: "POST", headers: HEADERS, body: BODY }).then((r) => r.body.arrayBuffer())
      )
    close = () => pool.close()
  } else {
    const cs = await connectionService(tls.port, [dns.servers[0].nameserver], certs, { maxSockets: 64 })
    run = (n) => loadEffect(cs.runtime, n, CONCURRENCY, servicePost(cs.service))
    close = cs.dispose
  }
  await run(100)
  await gc()
  const fdsBefore = openFds()
  const rssBefore = process.memoryUsage.rss()
  peakRss = rssBefore
  const result = await run(REQUESTS)
  await gc()
  const rssAfter = process.memoryUsage.rss()
  clearInterval(sampler)
  peakRss = Math.max(peakRss, rssAfter)
  await close()
  await sleep(200)
  const fdsAfterClient = openFds()
  const stats = await tls.stats()
  await tls.close()
  await dns.close()
  certs.dispose()
  await sleep(200)
  return {
    client: which === "undici" ? "undici Pool, connections 64 (baseline)" : "ConnectionService, maxSockets 64",
    errors: result.errors,
    firstError: result.firstError,
    rps: perSecond(result),
    p50: percentile(result.latencies, 50),
    p99: percentile(result.latencies, 99),
    max: percentile(result.latencies, 100),
    peakRss,
    rssBefore,
    rssAfter,
    fdsAtStart,
    fdsServersUp,
    fdsBefore,
    fdsAfterClient,
    fdsAfterAll: openFds(),
    serverConnections: stats.connections[ADDRESS]
  }
}

const which = process.argv.find((a) => a === "--child=undici" || a === "--child=cs")
if (which !== undefined) {
  const report = await child(which.slice("--child=".length) as "undici" | "cs")
  console.log(`REPORT ${JSON.stringify(report)}`)
} else {
  note(
    `Scale: ${fmt(REQUESTS)} requests at concurrency ${CONCURRENCY} through at most 64 sockets; ` +
      `each client in its own process (--expose-gc); fds counted in /proc/self/fd`
  )
  const reports: Array<Report> = []
  for (const c of ["undici", "cs"]) {
    const out = spawnSync(process.execPath, [
      "--expose-gc",
      fileURLToPath(import.meta.url),
      `--child=${c}`,
      `--requests=${REQUESTS}`,
      `--concurrency=${CONCURRENCY}`
    ], { encoding: "utf8", timeout: 120_000 })
    const line = out.stdout.split("\n").find((l) => l.startsWith("REPORT "))
    if (line === undefined) {
      note(`  ${c}: no report (exit ${out.status}, signal ${out.signal}): ${out.stderr.slice(0, 500)}`)
      continue
    }
    reports.push(JSON.parse(line.slice("REPORT ".length)) as Report)
  }
  const base = reports[0]
  table(
    "Scale",
    [
      "client",
      "errors",
      "req/s",
      "p50 ms",
      "p99 ms",
      "max ms",
      "server conns",
      "peak RSS",
      "RSS growth",
      "extra fds, client closed",
      "extra fds, all closed",
      "req/s vs undici"
    ],
    reports.map((r) => [
      r.client,
      fmt(r.errors),
      fmt(r.rps),
      fmt(r.p50, 1),
      fmt(r.p99, 1),
      fmt(r.max, 1),
      fmt(r.serverConnections),
      mib(r.peakRss),
      mib(r.rssAfter - r.rssBefore),
      fmt(r.fdsAfterClient - r.fdsServersUp),
      fmt(r.fdsAfterAll - r.fdsAtStart),
      base === undefined ? "-" : ratio(r.rps, base.rps)
    ])
  )
  for (const r of reports) {
    if (r.firstError !== undefined) note(`  first error (${r.client}): ${r.firstError}`)
    note(
      `  ${r.client}: fds at start ${r.fdsAtStart}, servers up ${r.fdsServersUp}, before run ${r.fdsBefore}, ` +
        `client closed ${r.fdsAfterClient}, all closed ${r.fdsAfterAll}; RSS before ${mib(r.rssBefore)}, ` +
        `after ${mib(r.rssAfter)}`
    )
  }
  note("(targets: 0 errors; 0 extra fds once closed; servers are closed by the child before it exits)")
}
