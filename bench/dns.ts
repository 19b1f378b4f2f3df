/**
 * Time to an answer when nameservers are dead: our Resolver (live layer, default dnsTimeout) against
 * Node's `dns.promises.Resolver` (c-ares) on the same DNS servers on loopback. A dead server is the
 * simulator's DnsServer in mode "swallow" (it never replies). Each run uses a fresh resolver (no
 * cache, no health memory) and asks for the A record once.
 *
 *   node bench/build/dns.js [--runs=3] [--allDeadDefaults=1]
 *
 * c-ares with its defaults takes tens of seconds when every server is dead, so that case runs once
 * (`--allDeadDefaults=0` skips it); c-ares with `{ timeout: 1000, tries: 1 }` (the nearest
 * explicit equivalent of our defaults) is measured alongside in every case.
 */
import * as ConnectionConfig from "@stpp/connect/ConnectionConfig"
import * as Resolver from "@stpp/connect/Resolver"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Dns from "node:dns"
import { performance } from "node:perf_hooks"
import { arg, dnsServers, fmt, HOST, median, note, ratio, table } from "./Harness.js"

const RUNS = arg("runs", 3)
const ALL_DEAD_DEFAULTS = arg("allDeadDefaults", 1) === 1

interface Outcome {
  readonly millis: number
  readonly answer: string
}

const ours = (nameservers: ReadonlyArray<string>): Promise<Outcome> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const context = yield* Layer.build(
      Resolver.layer.pipe(Layer.provide(ConnectionConfig.layer({
        url: `https://${HOST}/json/`,
        nameservers: [...nameservers],
        dnsDiscovery: false
      })))
    )
    const resolver = Context.get(context, Resolver.Resolver)
    const t0 = performance.now()
    const result = yield* Effect.either(resolver.resolve(HOST))
    const millis = performance.now() - t0
    return {
      millis,
      answer: Either.isRight(result) ? result.right.addresses.join(",") : result.left._tag
    }
  })))

const cares = async (
  nameservers: ReadonlyArray<string>,
  options: { readonly timeout: number; readonly tries: number } | undefined
): Promise<Outcome> => {
  const resolver = options === undefined ? new Dns.promises.Resolver() : new Dns.promises.Resolver(options)
  resolver.setServers([...nameservers])
  const t0 = performance.now()
  try {
    const addresses = await resolver.resolve4(HOST)
    return { millis: performance.now() - t0, answer: addresses.join(",") }
  } catch (e) {
    return { millis: performance.now() - t0, answer: (e as { code?: string }).code ?? String(e) }
  } finally {
    resolver.cancel()
  }
}

const records = [{ name: HOST, type: "A" as const, value: "127.0.2.10", ttl: 30 }]
const dns = await dnsServers(
  [
    { address: "127.0.3.1", mode: "swallow" },
    { address: "127.0.3.2", mode: "answer" },
    { address: "127.0.3.3", mode: "swallow" }
  ],
  records
)
const [dead1, live, dead2] = dns.servers.map((s) => s.nameserver)

note(`DNS: time to an answer from a fresh resolver, ${RUNS} runs per row (medians); dead = never replies`)

type Client = readonly [string, (servers: ReadonlyArray<string>) => Promise<Outcome>, number]
const measure = async (title: string, servers: ReadonlyArray<string>, clients: ReadonlyArray<Client>) => {
  const rows: Array<{ name: string; millis: number; runs: number; answer: string }> = []
  for (const [name, run, runs] of clients) {
    const outcomes: Array<Outcome> = []
    for (let r = 0; r < runs; r++) outcomes.push(await run(servers))
    rows.push({
      name,
      millis: median(outcomes.map((o) => o.millis)),
      runs,
      answer: [...new Set(outcomes.map((o) => o.answer))].join(" / ")
    })
  }
  const base = rows[0]
  table(
    `${title} (servers: ${servers.join(", ")})`,
    ["resolver", "runs", "time to answer ms", "answer", "vs c-ares defaults"],
    rows.map((r) => [r.name, fmt(r.runs), fmt(r.millis), r.answer, ratio(r.millis, base.millis)])
  )
}

const explicit = { timeout: 1000, tries: 1 }
await measure("First nameserver dead", [dead1, live], [
  ["c-ares dns.promises.Resolver, defaults (baseline)", (s) => cares(s, undefined), RUNS],
  ["c-ares { timeout: 1000, tries: 1 }", (s) => cares(s, explicit), RUNS],
  ["Resolver (ours, dnsTimeout 1 s)", (s) => ours(s), RUNS]
])
await measure("All nameservers dead", [dead1, dead2], [
  ...(ALL_DEAD_DEFAULTS
    ? [["c-ares dns.promises.Resolver, defaults (baseline)", (s) => cares(s, undefined), 1] satisfies Client]
    : []),
  ["c-ares { timeout: 1000, tries: 1 }", (s) => cares(s, explicit), RUNS],
  ["Resolver (ours, dnsTimeout 1 s)", (s) => ours(s), RUNS]
])
const queries = await dns.run(Effect.all(dns.servers.map((s) => s.queries)))
note(`(queries received: ${queries.map((q, i) => `${dns.servers[i].nameserver} ${q.length}`).join(", ")})`)
await dns.close()
