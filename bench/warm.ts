/**
 * Warm requests over kept-alive connections: the ConnectionService against undici's `Pool` used
 * directly, on the same TLS server (a worker thread), same request, same body, at concurrency 1,
 * 16 and 256. Both may open up to 64 connections (the service's `maxSockets` default). The service
 * runs twice: with its defaults (keepAliveMaxRequests 1000: each connection is closed and a new TLS
 * connection made after 800 to 1000 requests), and with undici's reuse policy (never closed for a count:
 * keepAliveMaxRequests 1e6), so that per-request cost and connection policy can be told apart.
 *
 * A third row calls the same kind of undici `Pool` from Effect fibers (`Effect.promise`, the same
 * closed loop the service runs in): what any Effect application pays before the service does
 * anything, so the service's own cost is the gap between the last two rows. "busy" is the time the
 * client's event loop was busy per request: the client's own CPU, without the server's thread.
 *
 * `pnpm bench` runs each concurrency level in a process of its own: in one process the levels run
 * first changed the later ones' figures unevenly (concurrency 256 read 0.68x undici after 1 and 16,
 * 0.78x alone; its baselines moved less), so one level's figures would depend on what ran before.
 *
 * The clients run in rounds (each round starts with the next client, so none always follows the
 * same one), and the ratios are taken round by round against the baseline's run of the same round,
 * then the median over the rounds, with their range: on these machines absolute figures swing by
 * tens of per cent between rounds, and a ratio of two medians taken over different rounds swung
 * with them.
 *
 *   node bench/build/warm.js [--requests=N (default 3,000 / 10,000 / 20,000 by level)] [--runs=7]
 *     [--concurrency=N (one level only)]
 */
import * as Effect from "effect/Effect"
import * as Undici from "undici"
import {
  BODY,
  busyPerRequest,
  certificates,
  type Client,
  column,
  connectionService,
  cpuPerRequest,
  dnsServers,
  fmt,
  HEADERS,
  HOST,
  levels,
  loadEffect,
  loadPromise,
  note,
  p50,
  p99,
  PATH,
  perSecond,
  rounds,
  servicePost,
  tlsServers
} from "./Harness.js"

// Each run lasts about a second at every level, so that a GC pause or a scheduling hiccup is a
// small part of it: at concurrency 256, 2,000 requests were 8 per worker and 0.15 s, and the ratios
// of such runs ranged from 0.4x to 1.6x within one process.
const { concurrency: CONCURRENCY, requestsAt, runs: RUNS } = levels({
  levels: [1, 16, 256],
  sizes: { 1: 3000, 16: 10_000, 256: 20_000 },
  runs: 7
})
const ADDRESS = "127.0.2.1"

const certs = await certificates()
const tls = await tlsServers([ADDRESS], certs)
const dns = await dnsServers([{ address: "127.0.2.53" }], [{ name: HOST, type: "A", value: ADDRESS, ttl: 60 }])
const nameserver = dns.servers[0].nameserver

note(
  `Warm requests: ${CONCURRENCY.map((c) => `${fmt(requestsAt(c))} POSTs per run at concurrency ${c}`).join(", ")}; ` +
    `${RUNS} runs per client, in rounds, after one warm-up run; ` +
    `TLS server on ${ADDRESS} in a worker thread; medians of the per-run figures; ratios round by round against ` +
    `the baseline's run of the same round: median (min-max)`
)

for (const concurrency of CONCURRENCY) {
  const pool = new Undici.Pool(`https://${ADDRESS}:${tls.port}`, {
    connections: 64,
    connect: { ca: certs.ca, servername: HOST }
  })
  const undici = () =>
    pool.request({ path: PATH, method: "POST", headers: HEADERS, body: BODY }).then((r) => r.body.arrayBuffer())
  const fiberPool = new Undici.Pool(`https://${ADDRESS}:${tls.port}`, {
    connections: 64,
    connect: { ca: certs.ca, servername: HOST }
  })
  const fromFibers = Effect.promise(() =>
    fiberPool.request({ path: PATH, method: "POST", headers: HEADERS, body: BODY }).then((r) => r.body.arrayBuffer())
  )
  const byDefault = await connectionService(tls.port, [nameserver], certs)
  const sameReuse = await connectionService(tls.port, [nameserver], certs, { keepAliveMaxRequests: 1_000_000 })

  const clients: ReadonlyArray<Client> = [
    ["undici Pool (baseline)", (n) => loadPromise(n, concurrency, undici)],
    ["undici Pool from Effect fibers", (n) => loadEffect(byDefault.runtime, n, concurrency, fromFibers)],
    [
      "ConnectionService (defaults)",
      (n) => loadEffect(byDefault.runtime, n, concurrency, servicePost(byDefault.service))
    ],
    [
      "ConnectionService (undici's reuse)",
      (n) => loadEffect(sameReuse.runtime, n, concurrency, servicePost(sameReuse.service))
    ]
  ]
  const requests = requestsAt(concurrency)
  await rounds({
    title: `Warm, concurrency ${concurrency}`,
    clients,
    requests,
    runs: RUNS,
    warmUp: Math.min(requests, 2000),
    columns: [
      column.client,
      column.median("req/s", perSecond),
      column.median("p50 ms", p50, 2),
      column.median("p99 ms", p99, 2),
      column.median("CPU µs/req", cpuPerRequest),
      column.median("busy µs/req", busyPerRequest),
      column.errors,
      column.vs("throughput vs undici (range)", 0, perSecond),
      column.vsMedian("p50 vs undici", 0, p50),
      column.vsMedian("throughput vs undici from fibers", 1, perSecond)
    ]
  })
  await pool.close()
  await fiberPool.close()
  await byDefault.dispose()
  await sameReuse.dispose()
}

const served = await tls.stats()
await tls.close()
await dns.close()
certs.dispose()
note(
  `(server: ${fmt(served.requests[ADDRESS])} requests on ${fmt(served.connections[ADDRESS])} TLS connections; ` +
    `target: >= 0.85x undici throughput)`
)
