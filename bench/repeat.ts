/**
 * `stpp request --repeat N` (P1/P2): the command's cost per request once started, against the
 * same loop written by hand with undici (bench/repeatBaseline.ts), both as whole processes on the
 * same TLS server. Each process runs once with 1 request and once with N; the cost per request is
 * (wall(N) - wall(1)) / (N - 1), so start-up cancels out (CPU alike, from /usr/bin/time). Rounds
 * as in warm.ts, ratios round by round against the baseline's.
 *
 *   node bench/build/repeat.js [--requests=2000] [--runs=5]
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import {
  arg,
  certificates,
  dnsServers,
  envWithoutStpp,
  fmt,
  fmtPaired,
  HOST,
  interleaved,
  median,
  note,
  paired,
  PATH,
  type RunResult,
  table,
  timedNode,
  tlsServers
} from "./Harness.js"

const REQUESTS = arg("requests", 2000)
const RUNS = arg("runs", 5)
const ADDRESS = "127.0.2.40"
const root = fileURLToPath(new URL("../..", import.meta.url))
const STPP = Path.join(root, "packages/cli/bin/stpp.js")
const BASELINE = fileURLToPath(new URL("./repeatBaseline.js", import.meta.url))

const certs = await certificates()
const tls = await tlsServers([ADDRESS], certs)
const dns = await dnsServers([{ address: "127.0.2.56" }], [{ name: HOST, type: "A", value: ADDRESS, ttl: 60 }])
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "stpp-bench-repeat-"))
const body = Path.join(dir, "auth.json")
Fs.writeFileSync(
  body,
  JSON.stringify({
    requesttypedescriptions: ["AUTH"],
    baseamount: "1050",
    currencyiso3a: "GBP",
    accounttypedescription: "ECOM",
    orderreference: "bench-repeat",
    pan: "4111111111111111",
    expirydate: "12/2030",
    securitycode: "123"
  })
)
const env = envWithoutStpp()
Object.assign(env, {
  NO_COLOR: "1",
  STPP_URL: `https://${HOST}:${tls.port}${PATH}`,
  STPP_NAMESERVERS: dns.servers[0].nameserver,
  STPP_DNS_DISCOVERY: "false",
  STPP_CA_FILE: certs.caFile,
  STPP_TRUST_STORE: "only",
  STPP_USERNAME: "ws@bench.test",
  STPP_PASSWORD: "bench-pw",
  STPP_SITE_REFERENCE: "bench_site",
  STPP_BENCH_ADDRESS: ADDRESS
})

/** One process to its exit: its wall time, CPU and whether it answered all `n` requests ok. */
const runOnce = async (args: ReadonlyArray<string>, n: number) => {
  const timed = await timedNode(args, env, dir)
  const lines = timed.stdout.split("\n").filter((l) => l.startsWith("{\"outcome\":\"ok\"")).length
  return { ...timed, lines, ok: timed.code === 0 && lines === n }
}

/** The cost of requests 2..N of one process: (N requests) - (1 request), per request. */
const perRequest = (command: (n: number) => ReadonlyArray<string>) => async (): Promise<RunResult> => {
  const one = await runOnce(command(1), 1)
  const many = await runOnce(command(REQUESTS), REQUESTS)
  const failed = !one.ok || !many.ok
  if (failed) note(`(${command(REQUESTS).slice(0, 2).join(" ")}: ${many.lines} of ${REQUESTS} answered ok)`)
  const n = REQUESTS - 1
  return {
    requests: n,
    errors: failed ? 1 : 0,
    elapsedMillis: (many.wallMillis - one.wallMillis) / n,
    cpuMicros: (many.cpuMillis - one.cpuMillis) * 1000 / n,
    busyMicros: Number.NaN,
    latencies: [],
    firstError: failed ? "not every request answered ok" : undefined
  }
}

const clients: ReadonlyArray<readonly [string, () => Promise<RunResult>]> = [
  ["undici Pool loop, one process (baseline)", perRequest((n) => [BASELINE, String(n), body])],
  ["stpp request --repeat", perRequest((n) => [STPP, "request", "--body", body, "--repeat", String(n)])]
]

note(
  `stpp request --repeat ${REQUESTS} against a hand-written undici loop, whole processes, ${RUNS} rounds ` +
    `after one warm-up; TLS server on ${ADDRESS} in a worker thread; per request = (N - 1 request) / (N - 1)`
)
try {
  for (const [, run] of clients) await run()
  const results = await interleaved(clients, RUNS, REQUESTS)
  const base = results.get(clients[0][0])!
  table(
    `stpp request --repeat, per request after start-up; target <= 1.2x undici's`,
    ["client", "wall ms/req p50", "CPU ms/req p50", "wall vs undici (range)", "CPU vs undici (range)", "errors"],
    clients.map(([name]) => {
      const runs = results.get(name)!
      return [
        name,
        fmt(median(runs.map((x) => x.elapsedMillis)), 3),
        fmt(median(runs.map((x) => x.cpuMicros / 1000)), 3),
        fmtPaired(paired(runs, base, (x) => x.elapsedMillis)),
        fmtPaired(paired(runs, base, (x) => x.cpuMicros)),
        fmt(runs.reduce((n, x) => n + x.errors, 0))
      ]
    })
  )
} finally {
  Fs.rmSync(dir, { recursive: true, force: true })
  await tls.close()
  await dns.close()
  certs.dispose()
}
