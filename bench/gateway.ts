/**
 * The typed client, warm: `GatewayClient.auth` over the ConnectionService against what an app would
 * write by hand, an undici `Pool` POST of the same envelope with `JSON.stringify` and its answer read
 * with `JSON.parse` (called from Effect fibers, the same closed loop), on the same TLS server (a
 * worker thread answering a valid AUTH response that echoes the request reference), at concurrency
 * 1, 16 and 256. Rounds rotated, ratios round by round against the baseline's run of the same round.
 *
 *   node bench/build/gateway.js [--requests=N] [--runs=5] [--concurrency=N (one level only)]
 */
import * as GatewayClient from "@stpp/gateway/GatewayClient"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Undici from "undici"
import {
  busyPerRequest,
  certificates,
  type Client,
  column,
  connectionService,
  cpuPerRequest,
  dnsServers,
  fmt,
  HOST,
  levels,
  loadEffect,
  note,
  p50,
  PATH,
  perSecond,
  rounds,
  tlsServers
} from "./Harness.js"

const { concurrency: CONCURRENCY, requestsAt, runs: RUNS } = levels({
  levels: [1, 16, 256],
  sizes: { 1: 3000, 16: 8000, 256: 16_000 },
  runs: 5
})
const ADDRESS = "127.0.2.30"
const USERNAME = "ws@bench.test"
const PASSWORD = "bench-pw"
const INPUT: GatewayClient.AuthInput = {
  baseamount: "1050",
  currencyiso3a: "GBP",
  accounttypedescription: "ECOM",
  orderreference: "bench-1",
  pan: Redacted.make("4111111111111111"),
  expirydate: Redacted.make("12/2030"),
  securitycode: Redacted.make("123")
}
const CARD = { pan: "4111111111111111", expirydate: "12/2030", securitycode: "123" }

const certs = await certificates()
const tls = await tlsServers([ADDRESS], certs)
const dns = await dnsServers([{ address: "127.0.2.55" }], [{ name: HOST, type: "A", value: ADDRESS, ttl: 60 }])
const nameserver = dns.servers[0].nameserver
const authorization = `Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`).toString("base64")}`

note(
  `GatewayClient.auth, warm: ${
    CONCURRENCY.map((c) => `${fmt(requestsAt(c))} AUTHs per run at concurrency ${c}`).join(", ")
  }; ${RUNS} runs per client, in rounds, after one warm-up run; TLS server on ${ADDRESS} in a worker thread; ` +
    `ratios round by round against the baseline's run of the same round: median (min-max)`
)

for (const concurrency of CONCURRENCY) {
  const cs = await connectionService(tls.port, [nameserver], certs, { keepAliveMaxRequests: 1_000_000 })
  const gateway = await cs.runtime.runPromise(
    GatewayClient.make({ username: USERNAME, password: Redacted.make(PASSWORD), sitereference: "bench_site" })
  )
  const pool = new Undici.Pool(`https://${ADDRESS}:${tls.port}`, {
    connections: 64,
    connect: { ca: certs.ca, servername: HOST }
  })
  let counter = 0
  // the same envelope and headers GatewayClient sends, built and read with JSON.stringify/JSON.parse
  const byHand = Effect.promise(async () => {
    const reference = `A${(counter++).toString(36).padStart(8, "0")}`
    const body = JSON.stringify({
      alias: USERNAME,
      version: "1.00",
      libraryversion: "stpp-connect_0.1.0",
      request: [{
        ...INPUT,
        ...CARD,
        sitereference: "bench_site",
        requesttypedescriptions: ["AUTH"],
        requestreference: reference
      }]
    })
    const r = await pool.request({
      path: PATH,
      method: "POST",
      headers: {
        "content-type": "application/json;charset=utf-8",
        accept: "application/json",
        requestreference: reference,
        versioninfo: GatewayClient.VERSION_INFO,
        authorization
      },
      body
    })
    const answer = JSON.parse(await r.body.text()) as { requestreference: string }
    if (r.statusCode !== 200 || answer.requestreference !== reference) throw new Error("bad answer")
    return answer
  })
  const typed = Effect.suspend(() => gateway.auth(INPUT))

  const clients: ReadonlyArray<Client> = [
    ["undici Pool + JSON.stringify/parse (baseline)", (n) => loadEffect(cs.runtime, n, concurrency, byHand)],
    ["GatewayClient.auth", (n) => loadEffect(cs.runtime, n, concurrency, typed)]
  ]
  const requests = requestsAt(concurrency)
  await rounds({
    title: `GatewayClient.auth, warm, concurrency ${concurrency}`,
    clients,
    requests,
    runs: RUNS,
    warmUp: Math.min(requests, 2000),
    columns: [
      column.client,
      column.median("req/s", perSecond),
      column.median("p50 ms", p50, 2),
      column.median("CPU µs/req", cpuPerRequest),
      column.median("busy µs/req", busyPerRequest),
      column.errors,
      column.vs("throughput vs undici (range)", 0, perSecond),
      column.vs("CPU/req vs undici (range)", 0, cpuPerRequest)
    ]
  })
  await pool.close()
  await cs.dispose()
}

const served = await tls.stats()
await tls.close()
await dns.close()
certs.dispose()
note(
  `(server: ${fmt(served.requests[ADDRESS])} requests on ${fmt(served.connections[ADDRESS])} TLS connections; ` +
    `targets: >= 0.85x undici throughput, CPU per request <= 1.25x)`
)
