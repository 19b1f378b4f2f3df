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
  arg,
  busyPerRequest,
  certificates,
  connectionService,
  cpuPerRequest,
  dnsServers,
  fmt,
  fmtPaired,
  HOST,
  interleaved,
  loadEffect,
  median,
  note,
  paired,
  PATH,
  percentile,
  perSecond,
  type RunResult,
  table,
  tlsServers
} from "./Harness.js"

const SIZES: Record<number, number> = { 1: 3000, 16: 8000, 256: 16_000 }
const REQUESTS_ARG = arg("requests", 0)
const requestsAt = (concurrency: number) => REQUESTS_ARG > 0 ? REQUESTS_ARG : SIZES[concurrency] ?? 10_000
const RUNS = arg("runs", 5)
const ONLY = arg("concurrency", 0)
const CONCURRENCY = ONLY > 0 ? [ONLY] : [1, 16, 256]
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

  const clients: ReadonlyArray<readonly [string, (n: number) => Promise<RunResult>]> = [
    ["undici Pool + JSON.stringify/parse (baseline)", (n) => loadEffect(cs.runtime, n, concurrency, byHand)],
    ["GatewayClient.auth", (n) => loadEffect(cs.runtime, n, concurrency, typed)]
  ]
  const requests = requestsAt(concurrency)
  for (const [, run] of clients) await run(Math.min(requests, 2000))
  const results = await interleaved(clients, RUNS, requests)
  const baseRuns = results.get(clients[0][0])!
  const summary = clients.map(([name]) => {
    const runs = results.get(name)!
    return {
      name,
      rps: median(runs.map(perSecond)),
      p50: median(runs.map((r) => percentile(r.latencies, 50))),
      cpu: median(runs.map(cpuPerRequest)),
      busy: median(runs.map(busyPerRequest)),
      errors: runs.reduce((n, r) => n + r.errors, 0),
      firstError: runs.find((r) => r.firstError !== undefined)?.firstError,
      vsBase: paired(runs, baseRuns, perSecond),
      cpuVsBase: paired(runs, baseRuns, cpuPerRequest)
    }
  })
  table(
    `GatewayClient.auth, warm, concurrency ${concurrency}`,
    [
      "client",
      "req/s",
      "p50 ms",
      "CPU µs/req",
      "busy µs/req",
      "errors",
      "throughput vs undici (range)",
      "CPU/req vs undici (range)"
    ],
    summary.map((s) => [
      s.name,
      fmt(s.rps),
      fmt(s.p50, 2),
      fmt(s.cpu),
      fmt(s.busy),
      fmt(s.errors),
      fmtPaired(s.vsBase),
      fmtPaired(s.cpuVsBase)
    ])
  )
  for (const s of summary) if (s.firstError !== undefined) note(`  first error (${s.name}): ${s.firstError}`)
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
