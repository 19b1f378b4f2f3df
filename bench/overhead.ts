/**
 * Where the warm request path's time goes, layer by layer, on the same server: undici's `Pool`;
 * `@effect/platform`'s HttpClient over that kind of Pool (`NodeHttpClient.makeUndici`, what the
 * ConnectionService runs on each connection), with Effect's tracer on and off; the
 * ConnectionService with its tracer on and off and with logging off. CPU per request is the whole
 * process's (client plus the server's worker thread), so differences between rows are the client's.
 * Then the cost of each Effect combinator on the service's request path, alone, in µs per call.
 *
 *   node bench/build/overhead.js [--requests=1500] [--runs=3] [--concurrency=16]
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import { performance } from "node:perf_hooks"
import * as Undici from "undici"
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
  perSecond,
  ratio,
  type RunResult,
  servicePost,
  table,
  tlsServers
} from "./Harness.js"

const REQUESTS = arg("requests", 1500)
const RUNS = arg("runs", 3)
const CONCURRENCY = arg("concurrency", 16)
const ADDRESS = "127.0.2.6"

const certs = await certificates()
const tls = await tlsServers([ADDRESS], certs)
const dns = await dnsServers([{ address: "127.0.2.53" }], [{ name: HOST, type: "A", value: ADDRESS, ttl: 60 }])
const nameserver = dns.servers[0].nameserver
const origin = `https://${ADDRESS}:${tls.port}`
const poolOptions = { connections: 64, connect: { ca: certs.ca, servername: HOST } }
const pool = new Undici.Pool(origin, poolOptions)
const effectPool = new Undici.Pool(origin, poolOptions)
const client = NodeHttpClient.makeUndici(effectPool)
const cs = await connectionService(tls.port, [nameserver], certs, { keepAliveMaxRequests: 1_000_000 })
const csQuiet = await connectionService(tls.port, [nameserver], certs, {
  keepAliveMaxRequests: 1_000_000,
  logLevel: "none"
})

const effectHttp = Effect.suspend(() =>
  client.execute(
    HttpClientRequest.post(`${origin}${PATH}`).pipe(
      HttpClientRequest.setHeaders(HEADERS),
      HttpClientRequest.bodyUint8Array(new TextEncoder().encode(BODY), "application/json")
    )
  ).pipe(Effect.flatMap((r) => r.arrayBuffer))
)
const tracerOff = <A, E>(effect: Effect.Effect<A, E>) => Effect.locally(effect, FiberRef.currentTracerEnabled, false)

const layers: ReadonlyArray<readonly [string, (n: number) => Promise<RunResult>]> = [
  [
    "undici Pool (baseline)",
    (n) =>
      loadPromise(
        n,
        CONCURRENCY,
        () =>
          pool.request({ path: PATH, method: "POST", headers: HEADERS, body: BODY }).then((r) => r.body.arrayBuffer())
      )
  ],
  ["@effect/platform HttpClient over undici Pool", (n) => loadEffect(cs.runtime, n, CONCURRENCY, effectHttp)],
  ["  HttpClient, tracer disabled", (n) => loadEffect(cs.runtime, n, CONCURRENCY, tracerOff(effectHttp))],
  ["ConnectionService", (n) => loadEffect(cs.runtime, n, CONCURRENCY, servicePost(cs.service))],
  ["  service, tracer disabled", (n) => loadEffect(cs.runtime, n, CONCURRENCY, tracerOff(servicePost(cs.service)))],
  ["  service, logLevel none", (n) => loadEffect(csQuiet.runtime, n, CONCURRENCY, servicePost(csQuiet.service))],
  [
    "  service, logLevel none and tracer disabled",
    (n) => loadEffect(csQuiet.runtime, n, CONCURRENCY, tracerOff(servicePost(csQuiet.service)))
  ]
]

note(
  `Overhead by layer: warm, concurrency ${CONCURRENCY}, ${fmt(REQUESTS)} POSTs per run, ${RUNS} runs, ` +
    `interleaved, after a warm-up run; keepAliveMaxRequests 1e6 for the service`
)
const results = new Map<string, Array<RunResult>>(layers.map(([name]) => [name, []]))
for (const [, run] of layers) await run(500)
for (let r = 0; r < RUNS; r++) {
  for (const [name, run] of layers) results.get(name)!.push(await run(REQUESTS))
}
const rows = layers.map(([name]) => {
  const runs = results.get(name)!
  return { name, rps: median(runs.map(perSecond)), cpu: median(runs.map(cpuPerRequest)) }
})
table(
  "Overhead by layer",
  ["client", "req/s", "CPU µs/req", "CPU over undici µs", "throughput vs undici"],
  rows.map((r) => [r.name, fmt(r.rps), fmt(r.cpu), fmt(r.cpu - rows[0].cpu), ratio(r.rps, rows[0].rps)])
)
await pool.close()
await effectPool.close()
await cs.dispose()
await csQuiet.dispose()
await tls.close()
await dns.close()
certs.dispose()

// -----------------------------------------------------------------------------
// the combinators on the request path, alone
// -----------------------------------------------------------------------------

const CALLS = 100_000
const counter = Metric.counter("bench_total", { incremental: true })
const histogram = Metric.histogram("bench_ms", MetricBoundaries.exponential({ start: 1, factor: 2, count: 17 }))
const combinators = Effect.gen(function*() {
  const semaphore = yield* Effect.makeSemaphore(64)
  const loggers = yield* FiberRef.get(FiberRef.currentLoggers)
  const cases: ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown>]> = [
    ["Effect.void (the floor)", Effect.void],
    ["semaphore.withPermits(1)", semaphore.withPermits(1)(Effect.void)],
    [
      "Effect.locally x2 (loggers, minimum level)",
      Effect.void.pipe(
        Effect.locally(FiberRef.currentLoggers, loggers),
        Effect.locally(FiberRef.currentMinimumLogLevel, LogLevel.Info)
      )
    ],
    [
      "Effect.timeoutFail (60 s, not reached)",
      Effect.timeoutFail(Effect.void, { duration: "60 seconds", onTimeout: () => 0 })
    ],
    ["Effect.withSpan (2 attributes)", Effect.withSpan(Effect.void, "x", { attributes: { a: "b", c: "d" } })],
    [
      "Effect.withSpan, captureStackTrace: false",
      Effect.withSpan(Effect.void, "x", { attributes: { a: "b", c: "d" }, captureStackTrace: false })
    ],
    ["Metric.increment(Metric.tagged(...))", Metric.increment(Metric.tagged(counter, "outcome", "ok"))],
    ["Metric.update(histogram)", Metric.update(histogram, 3)],
    ["Clock.currentTimeMillis", Clock.currentTimeMillis],
    ["logDebug + annotateLogs below the level", Effect.logDebug("x").pipe(Effect.annotateLogs({ a: 1, b: "2" }))],
    ["Effect.either(succeed)", Effect.either(Effect.succeed(1))]
  ]
  const out: Array<readonly [string, number]> = []
  for (const [name, effect] of cases) {
    for (let i = 0; i < 20_000; i++) yield* Effect.either(effect)
    const t0 = performance.now()
    for (let i = 0; i < CALLS; i++) yield* Effect.either(effect)
    out.push([name, ((performance.now() - t0) * 1000) / CALLS])
  }
  return out
})
const costs = await Effect.runPromise(combinators.pipe(Effect.provide(Logger.minimumLogLevel(LogLevel.Info))))
table(
  `Effect combinators alone (${fmt(CALLS)} calls each, sequential, default tracer)`,
  ["combinator", "µs per call"],
  costs.map(([name, us]) => [name, fmt(us, 2)])
)
