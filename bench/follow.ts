/**
 * Following a DNS change under steady keep-alive traffic: one request every INTERVAL ms to the
 * gateway's name; the A record (TTL 1 s) is switched to the other server's address; the figure is
 * the time from the change to the first response from the new address. Baseline: undici's `Pool`
 * on the same name, resolving through c-ares pointed at the same DNS server (`connect.lookup`).
 *
 *   node bench/build/follow.js [--runs=5] [--interval=50] [--window=5000]
 */
import * as Dns from "node:dns"
import type * as Net from "node:net"
import { performance } from "node:perf_hooks"
import * as Undici from "undici"
import {
  arg,
  BODY,
  certificates,
  connectionService,
  dnsServers,
  fmt,
  HEADERS,
  HOST,
  median,
  note,
  PATH,
  servicePost,
  sleep,
  table,
  tlsServers
} from "./Harness.js"

const RUNS = arg("runs", 5)
const INTERVAL = arg("interval", 50)
const WINDOW = arg("window", 5000)
const TTL = 1
const ADDRESSES = ["127.0.4.1", "127.0.4.2"] as const

const certs = await certificates()
const tls = await tlsServers(ADDRESSES, certs)
const dns = await dnsServers([{ address: "127.0.4.53" }], [{ name: HOST, type: "A", value: ADDRESSES[0], ttl: TTL }])
const server = dns.servers[0]
const setAddress = (address: string) => dns.run(server.setRecord(HOST, "A", address, TTL))

interface Followed {
  /** ms from the change to the first response from the new address, or undefined if not within WINDOW. */
  readonly millis: number | undefined
  /** Requests answered by the old address after the change. */
  readonly oldAfter: number
  /** Mean request latency during the run, ms. */
  readonly latency: number
}

/** Steady traffic through `send` (which answers with the address that served it), one change. */
const follow = async (send: () => Promise<string>, from: string, to: string): Promise<Followed> => {
  const latencies: Array<number> = []
  const one = async () => {
    const t = performance.now()
    const address = await send()
    latencies.push(performance.now() - t)
    return address
  }
  const settle = performance.now() + 1500 + Math.random() * 1000
  while (performance.now() < settle) {
    await one()
    await sleep(INTERVAL)
  }
  await setAddress(to)
  const changedAt = performance.now()
  let oldAfter = 0
  while (performance.now() - changedAt < WINDOW) {
    const address = await one()
    if (address === to) {
      return { millis: performance.now() - changedAt, oldAfter, latency: mean(latencies) }
    }
    if (address === from) oldAfter++
    await sleep(INTERVAL)
  }
  return { millis: undefined, oldAfter, latency: mean(latencies) }
}

const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
const decoder = new TextDecoder()
const addressOf = (body: Uint8Array | ArrayBuffer): string =>
  (JSON.parse(decoder.decode(body)) as { address: string }).address

note(
  `Following a DNS change: TTL ${TTL} s, one request every ${INTERVAL} ms (closed loop), ` +
    `change after 1.5-2.5 s of traffic, window ${fmt(WINDOW)} ms`
)

// ConnectionService: RUNS changes, alternating between the two addresses.
const cs = await connectionService(tls.port, [server.nameserver], certs)
const csRuns: Array<Followed> = []
let current: string = ADDRESSES[0]
for (let r = 0; r < RUNS; r++) {
  const next = current === ADDRESSES[0] ? ADDRESSES[1] : ADDRESSES[0]
  csRuns.push(await follow(() => cs.runtime.runPromise(servicePost(cs.service)).then((x) => x.address), current, next))
  current = next
}
await cs.dispose()

// undici Pool resolving with c-ares on the same server: one run (it is bounded by WINDOW).
await setAddress(ADDRESSES[0])
const cares = new Dns.Resolver()
cares.setServers([server.nameserver])
const lookup = (
  hostname: string,
  options: { readonly all?: boolean },
  callback: (...args: ReadonlyArray<unknown>) => void
) =>
  cares.resolve4(hostname, (error, addresses) => {
    if (error !== null) return callback(error)
    if (options.all === true) callback(null, addresses.map((address) => ({ address, family: 4 })))
    else callback(null, addresses[0], 4)
  })
const pool = new Undici.Pool(`https://${HOST}:${tls.port}`, {
  connections: 64,
  connect: { ca: certs.ca, servername: HOST, lookup: lookup as unknown as Net.LookupFunction }
})
const undiciRun = await follow(
  () =>
    pool.request({ path: PATH, method: "POST", headers: HEADERS, body: BODY })
      .then((r) => r.body.arrayBuffer())
      .then(addressOf),
  ADDRESSES[0],
  ADDRESSES[1]
)
await pool.close()
cares.cancel()

const bound = TTL * 1000 + INTERVAL + median(csRuns.map((r) => r.latency))
const describe = (r: Followed) => (r.millis === undefined ? `> ${fmt(WINDOW)} (not followed)` : fmt(r.millis))
table(
  "Time from the DNS change to the first response from the new address",
  ["client", "runs", "median ms", "worst ms", "old-address answers after change", "bound: TTL + 1 request"],
  [
    [
      "undici Pool + c-ares lookup (baseline)",
      "1",
      describe(undiciRun),
      describe(undiciRun),
      fmt(undiciRun.oldAfter),
      fmt(bound)
    ],
    [
      "ConnectionService",
      fmt(csRuns.length),
      csRuns.every((r) => r.millis !== undefined) ? fmt(median(csRuns.map((r) => r.millis!))) : "-",
      csRuns.some((r) => r.millis === undefined)
        ? `> ${fmt(WINDOW)}`
        : fmt(Math.max(...csRuns.map((r) => r.millis!))),
      fmt(median(csRuns.map((r) => r.oldAfter))),
      fmt(bound)
    ]
  ]
)
note(`(ConnectionService per run, ms: ${csRuns.map(describe).join(", ")}; target: every run within the bound)`)
await tls.close()
await dns.close()
certs.dispose()
