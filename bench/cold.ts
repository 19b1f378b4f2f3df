/**
 * Cold requests, a new TCP + TLS connection for each: the ConnectionService with
 * `keepAliveMaxRequests: 1` (every connection retired after its first response) against node's
 * `https.request` with `agent: false`, one request at a time, same server (worker thread), same
 * request. Neither resumes TLS sessions.
 *
 *   node bench/build/cold.js [--requests=150] [--runs=5]
 */
import * as Https from "node:https"
import {
  arg,
  BODY,
  certificates,
  connectionService,
  cpuPerRequest,
  dnsServers,
  fmt,
  HEADERS,
  HOST,
  loadEffect,
  loadPromise,
  median,
  note,
  PATH,
  percentile,
  perSecond,
  ratio,
  type RunResult,
  servicePost,
  table,
  tlsServers
} from "./Harness.js"

const REQUESTS = arg("requests", 150)
const RUNS = arg("runs", 5)
const ADDRESS = "127.0.2.2"

const certs = await certificates()
const tls = await tlsServers([ADDRESS], certs)
const dns = await dnsServers([{ address: "127.0.2.53" }], [{ name: HOST, type: "A", value: ADDRESS, ttl: 60 }])

const httpsPost = () =>
  new Promise<Buffer>((resolve, reject) => {
    const req = Https.request({
      host: ADDRESS,
      port: tls.port,
      servername: HOST,
      ca: certs.ca,
      agent: false,
      method: "POST",
      path: PATH,
      headers: { ...HEADERS, host: HOST, "content-length": Buffer.byteLength(BODY) }
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resolve(Buffer.concat(chunks)))
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end(BODY)
  })

const cs = await connectionService(tls.port, [dns.servers[0].nameserver], certs, { keepAliveMaxRequests: 1 })

note(
  `Cold requests: a new connection per request, concurrency 1, ${fmt(REQUESTS)} POSTs per run, ${RUNS} runs ` +
    `per client, interleaved, after one warm-up run; TLS server on ${ADDRESS} in a worker thread`
)

const clients: ReadonlyArray<readonly [string, (n: number) => Promise<RunResult>]> = [
  ["https.request, agent: false (baseline)", (n) => loadPromise(n, 1, httpsPost)],
  ["ConnectionService, keepAliveMaxRequests 1", (n) => loadEffect(cs.runtime, n, 1, servicePost(cs.service))]
]
const results = new Map<string, Array<RunResult>>(clients.map(([name]) => [name, []]))
for (const [, run] of clients) await run(Math.min(REQUESTS, 50))
const before = await tls.stats()
for (let r = 0; r < RUNS; r++) {
  for (const [name, run] of clients) results.get(name)!.push(await run(REQUESTS))
}
const summary = clients.map(([name]) => {
  const runs = results.get(name)!
  const all = runs.flatMap((r) => r.latencies)
  return {
    name,
    mean: median(runs.map((r) => r.latencies.reduce((a, b) => a + b, 0) / r.latencies.length)),
    p50: median(runs.map((r) => percentile(r.latencies, 50))),
    p99: median(runs.map((r) => percentile(r.latencies, 99))),
    max: Math.max(...all),
    rps: median(runs.map(perSecond)),
    cpu: median(runs.map(cpuPerRequest)),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    firstError: runs.find((r) => r.firstError !== undefined)?.firstError
  }
})
const base = summary[0]
table(
  "Cold, concurrency 1",
  ["client", "mean ms", "p50 ms", "p99 ms", "req/s", "CPU µs/req", "errors", "p50 vs https", "mean vs https"],
  summary.map((s) => [
    s.name,
    fmt(s.mean, 2),
    fmt(s.p50, 2),
    fmt(s.p99, 2),
    fmt(s.rps),
    fmt(s.cpu),
    fmt(s.errors),
    ratio(s.p50, base.p50),
    ratio(s.mean, base.mean)
  ])
)
for (const s of summary) if (s.firstError !== undefined) note(`  first error (${s.name}): ${s.firstError}`)
const after = await tls.stats()
note(
  `(server: ${fmt(after.requests[ADDRESS] - before.requests[ADDRESS])} requests on ` +
    `${fmt(after.connections[ADDRESS] - before.connections[ADDRESS])} new TLS connections while measuring; ` +
    `target: <= 1.15x https.request latency)`
)
await cs.dispose()
await tls.close()
await dns.close()
certs.dispose()
