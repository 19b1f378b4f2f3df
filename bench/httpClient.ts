/**
 * `@effect/platform` HttpClient code, warm, on the same TLS server (a worker thread): the same
 * POST through `ConnectionHttpClient` (over the ConnectionService) against `@effect/platform`'s own
 * undici client (`NodeHttpClient.layerUndiciWithoutDispatcher` on an undici `Agent` that trusts the
 * test CA: `layerUndici` with the CA it needs). Both answers are read with `response.json`, as app
 * code does. Rows for `ConnectionService.request` alone (the adapter's own cost is the gap) and for
 * the platform client with Effect's tracer off (the platform client makes an `http.client` span
 * even under Effect's built-in tracer, where nobody sees it; ConnectionHttpClient then makes none).
 *
 * The clients run in rounds, and ratios are taken round by round against the baseline's run of the
 * same round (median and range), as in warm.ts.
 *
 *   node bench/build/httpClient.js [--requests=N (default 3,000 / 5,000 by level)] [--runs=5]
 *     [--concurrency=N (one level only)]
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { ConnectionHttpClient } from "@stpp/connect"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
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
  note,
  p50,
  p99,
  PATH,
  perSecond,
  rounds,
  tlsServers
} from "./Harness.js"

const { concurrency: CONCURRENCY, requestsAt, runs: RUNS } = levels({
  levels: [1, 16],
  sizes: { 1: 3000, 16: 5000 },
  runs: 5
})
const ADDRESS = "127.0.2.20"

const certs = await certificates()
const tls = await tlsServers([ADDRESS], certs)
const dns = await dnsServers([{ address: "127.0.2.54" }], [{ name: HOST, type: "A", value: ADDRESS, ttl: 60 }])
const nameserver = dns.servers[0].nameserver
const body = HttpBody.uint8Array(new TextEncoder().encode(BODY), "application/json")

note(
  `HttpClient, warm: ${
    CONCURRENCY.map((c) => `${fmt(requestsAt(c))} POSTs per run at concurrency ${c}`).join(", ")
  }; ` +
    `${RUNS} runs per client, in rounds, after one warm-up run; TLS server on ${ADDRESS} in a worker thread; ` +
    `ratios round by round against the baseline's run of the same round: median (min-max)`
)

for (const concurrency of CONCURRENCY) {
  // both may open up to 64 connections, kept alive without a request count cap
  const cs = await connectionService(tls.port, [nameserver], certs, { keepAliveMaxRequests: 1_000_000 })
  const agent = new Undici.Agent({ connections: 64, connect: { ca: certs.ca, servername: HOST } })
  const platform = await cs.runtime.runPromise(
    Effect.provide(
      HttpClient.HttpClient,
      NodeHttpClient.layerUndiciWithoutDispatcher.pipe(Layer.provide(Layer.succeed(NodeHttpClient.Dispatcher, agent)))
    )
  )
  const connection = await cs.runtime.runPromise(ConnectionHttpClient.make)

  const platformPost = Effect.suspend(() =>
    platform.execute(
      HttpClientRequest.post(`https://${ADDRESS}:${tls.port}${PATH}`).pipe(HttpClientRequest.setBody(body))
    ).pipe(Effect.flatMap((r) => r.json))
  )
  const connectionPost = Effect.suspend(() =>
    connection.execute(
      HttpClientRequest.post(`https://${HOST}:${tls.port}${PATH}`).pipe(HttpClientRequest.setBody(body))
    ).pipe(Effect.flatMap((r) => r.json))
  )
  const servicePost = Effect.suspend(() =>
    cs.service.request({ path: PATH, body: BODY, headers: HEADERS }).pipe(
      Effect.map((r) => JSON.parse(new TextDecoder().decode(r.body)) as unknown)
    )
  )
  const tracerOff = <A, E>(effect: Effect.Effect<A, E>) => Effect.locally(effect, FiberRef.currentTracerEnabled, false)

  const clients: ReadonlyArray<Client> = [
    [
      "@effect/platform NodeHttpClient undici (baseline)",
      (n) => loadEffect(cs.runtime, n, concurrency, platformPost)
    ],
    ["ConnectionHttpClient", (n) => loadEffect(cs.runtime, n, concurrency, connectionPost)],
    ["ConnectionService.request + JSON.parse", (n) => loadEffect(cs.runtime, n, concurrency, servicePost)],
    [
      "@effect/platform NodeHttpClient undici, tracer off",
      (n) => loadEffect(cs.runtime, n, concurrency, tracerOff(platformPost))
    ]
  ]
  const requests = requestsAt(concurrency)
  await rounds({
    title: `HttpClient, warm, concurrency ${concurrency}`,
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
      column.vs("throughput vs platform undici (range)", 0, perSecond),
      column.vsMedian("p50 vs platform undici", 0, p50)
    ]
  })
  await agent.close()
  await cs.dispose()
}

const served = await tls.stats()
await tls.close()
await dns.close()
certs.dispose()
note(
  `(server: ${fmt(served.requests[ADDRESS])} requests on ${fmt(served.connections[ADDRESS])} TLS connections)`
)
