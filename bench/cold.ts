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
  type Client,
  column,
  connectionService,
  cpuPerRequest,
  dnsServers,
  fmt,
  HEADERS,
  HOST,
  loadEffect,
  loadPromise,
  meanLatency,
  note,
  p50,
  p99,
  PATH,
  perSecond,
  rounds,
  type ServerStats,
  servicePost,
  tlsServers
} from "./Harness.js"

const REQUESTS = arg("requests", 150)
const RUNS = arg("runs", 9)
const ADDRESS = "127.0.2.2"

const certs = await certificates()
const tls = await tlsServers([ADDRESS], certs)
const dns = await dnsServers([{ address: "127.0.2.53" }], [{ name: HOST, type: "A", value: ADDRESS, ttl: 60 }])

// node's https.request: `agent: false` makes a new connection with a full handshake each time
const post = (agent: Https.Agent | false) => () =>
  new Promise<Buffer>((resolve, reject) => {
    const req = Https.request({
      host: ADDRESS,
      port: tls.port,
      servername: HOST,
      ca: certs.ca,
      agent,
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
const httpsPost = post(false)

// keepAlive false: a new connection per request, but TLS sessions cached (maxCachedSessions 100)
const sessionAgent = new Https.Agent({ keepAlive: false })
const agentPost = post(sessionAgent)

const cs = await connectionService(tls.port, [dns.servers[0].nameserver], certs, { keepAliveMaxRequests: 1 })
const csFull = await connectionService(tls.port, [dns.servers[0].nameserver], certs, {
  keepAliveMaxRequests: 1,
  tlsSessionCache: 0
})

note(
  `Cold requests: a new connection per request, concurrency 1, ${fmt(REQUESTS)} POSTs per run, ${RUNS} runs ` +
    `per client, interleaved, after one warm-up run; TLS server on ${ADDRESS} in a worker thread`
)

const clients: ReadonlyArray<Client> = [
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
let before!: ServerStats
await rounds({
  title: "Cold, concurrency 1",
  clients,
  requests: REQUESTS,
  runs: RUNS,
  warmUp: Math.min(REQUESTS, 50),
  afterWarmUp: async () => {
    before = await tls.stats()
  },
  columns: [
    column.client,
    column.median("mean ms", meanLatency, 2),
    column.median("p50 ms", p50, 2),
    column.median("p99 ms", p99, 2),
    column.median("req/s", perSecond),
    column.median("CPU µs/req", cpuPerRequest),
    column.errors,
    column.vs("p50 vs https (range)", 0, p50),
    column.vs("mean vs https (range)", 0, meanLatency),
    column.vs("p50 vs Agent (range)", 1, p50)
  ]
})
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
