/**
 * Cold requests, a new TCP + TLS connection for each: the ConnectionService with
 * `keepAliveMaxRequests: 1` (every connection retired after its first response) against node's
 * `https.request` with `agent: false` (a full handshake each time), one request at a time, same
 * server (worker thread), same request. P3: the service resumes TLS sessions (its default
 * `STPP_TLS_SESSION_CACHE`), measured also against an `https.Agent` with `keepAlive: false` and its
 * default session cache (`maxCachedSessions` 100), and with the cache off.
 *
 * Rounds and ratios as in warm.ts: each round starts with the next client, ratios are taken round
 * by round against the baseline's run of the same round (median over rounds, and their range).
 *
 *   node bench/build/cold.js [--requests=150] [--runs=9]
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
  fmtPaired,
  HEADERS,
  HOST,
  interleaved,
  loadEffect,
  loadPromise,
  median,
  note,
  paired,
  PATH,
  percentile,
  perSecond,
  type RunResult,
  servicePost,
  table,
  tlsServers
} from "./Harness.js"

const REQUESTS = arg("requests", 150)
const RUNS = arg("runs", 9)
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

// keepAlive false: a new connection per request, but TLS sessions cached (maxCachedSessions 100)
const sessionAgent = new Https.Agent({ keepAlive: false })
const agentPost = () =>
  new Promise<Buffer>((resolve, reject) => {
    const req = Https.request({
      host: ADDRESS,
      port: tls.port,
      servername: HOST,
      ca: certs.ca,
      agent: sessionAgent,
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
const csFull = await connectionService(tls.port, [dns.servers[0].nameserver], certs, {
  keepAliveMaxRequests: 1,
  tlsSessionCache: 0
})

note(
  `Cold requests: a new connection per request, concurrency 1, ${fmt(REQUESTS)} POSTs per run, ${RUNS} runs ` +
    `per client, interleaved, after one warm-up run; TLS server on ${ADDRESS} in a worker thread`
)

const clients: ReadonlyArray<readonly [string, (n: number) => Promise<RunResult>]> = [
  ["https.request, agent: false (baseline)", (n) => loadPromise(n, 1, httpsPost)],
  ["https.Agent, keepAlive false, session cache", (n) => loadPromise(n, 1, agentPost)],
  [
    "ConnectionService, keepAliveMaxRequests 1 (sessions)",
    (n) => loadEffect(cs.runtime, n, 1, servicePost(cs.service))
  ],
  [
    "ConnectionService, keepAliveMaxRequests 1, STPP_TLS_SESSION_CACHE 0",
    (n) => loadEffect(csFull.runtime, n, 1, servicePost(csFull.service))
  ]
]
for (const [, run] of clients) await run(Math.min(REQUESTS, 50))
const before = await tls.stats()
const results = await interleaved(clients, RUNS, REQUESTS)
const baseRuns = results.get(clients[0][0])!
const agentRuns = results.get(clients[1][0])!
const meanOf = (r: RunResult) => r.latencies.reduce((a, b) => a + b, 0) / r.latencies.length
const summary = clients.map(([name]) => {
  const runs = results.get(name)!
  const all = runs.flatMap((r) => r.latencies)
  return {
    name,
    mean: median(runs.map(meanOf)),
    p50: median(runs.map((r) => percentile(r.latencies, 50))),
    p99: median(runs.map((r) => percentile(r.latencies, 99))),
    max: Math.max(...all),
    rps: median(runs.map(perSecond)),
    cpu: median(runs.map(cpuPerRequest)),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    firstError: runs.find((r) => r.firstError !== undefined)?.firstError,
    p50VsHttps: paired(runs, baseRuns, (r) => percentile(r.latencies, 50)),
    p50VsAgent: paired(runs, agentRuns, (r) => percentile(r.latencies, 50)),
    meanVsHttps: paired(runs, baseRuns, meanOf)
  }
})
table(
  "Cold, concurrency 1",
  [
    "client",
    "mean ms",
    "p50 ms",
    "p99 ms",
    "req/s",
    "CPU µs/req",
    "errors",
    "p50 vs https (range)",
    "mean vs https (range)",
    "p50 vs Agent (range)"
  ],
  summary.map((s) => [
    s.name,
    fmt(s.mean, 2),
    fmt(s.p50, 2),
    fmt(s.p99, 2),
    fmt(s.rps),
    fmt(s.cpu),
    fmt(s.errors),
    fmtPaired(s.p50VsHttps),
    fmtPaired(s.meanVsHttps),
    fmtPaired(s.p50VsAgent)
  ])
)
for (const s of summary) if (s.firstError !== undefined) note(`  first error (${s.name}): ${s.firstError}`)
const after = await tls.stats()
note(
  `(server: ${fmt(after.requests[ADDRESS] - before.requests[ADDRESS])} requests on ` +
    `${fmt(after.connections[ADDRESS] - before.connections[ADDRESS])} new TLS connections while measuring, ` +
    `${fmt(after.resumed[ADDRESS] - before.resumed[ADDRESS])} of them resumed; targets: the service <= 1.15x ` +
    `https.request latency without sessions; with them (P3) p50 <= 0.85x https.request and <= 1.05x the Agent)`
)
await cs.dispose()
await csFull.dispose()
sessionAgent.destroy()
await tls.close()
await dns.close()
certs.dispose()
