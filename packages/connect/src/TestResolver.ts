/**
 * The shipped fake resolver and its controller: the servers are scripted through `TestResolver`, while
 * the cache, failover, health and discovery logic are the live ones, timed by `Clock` (so `TestClock`
 * drives them). A query for anything not scripted is a defect that names what is missing.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Net from "node:net"
import * as ConnectionConfig from "./ConnectionConfig.js"
import { makeWith, Resolver } from "./internal/dns/resolver.js"
import type { Question, Response, Transport } from "./internal/dns/transport.js"
import { formatServer, normalizeName, QueryFailure } from "./internal/dns/transport.js"

/**
 * What a scripted server does instead of answering.
 *
 * @since 0.1.0
 * @category testing
 */
export type ScriptedFailure = "timeout" | "refused" | "servfail" | "network" | "malformed"

/**
 * One query the test resolver received.
 *
 * @since 0.1.0
 * @category testing
 */
export interface QueryRecord {
  /** "ip:port" */
  readonly nameserver: string
  readonly name: string
  readonly type: "A" | "AAAA" | "NS"
  /** Epoch ms from `Clock`. */
  readonly at: number
  /** "answer" or the scripted failure. */
  readonly outcome: "answer" | ScriptedFailure
}

/**
 * Scripts the fake DNS servers of `layerTest` and reads the queries they received. A query for
 * anything not scripted is a defect that names what is missing.
 *
 * @since 0.1.0
 * @category testing
 */
export class TestResolver extends Context.Tag("@stpp/connect/TestResolver")<TestResolver, {
  /**
   * Every server (or only `nameserver`) answers `host` with these addresses (IPv4 as A, IPv6 as
   * AAAA records) and this TTL, until changed.
   */
  readonly setAnswer: (
    host: string,
    addresses: ReadonlyArray<string>,
    ttl: Duration.DurationInput,
    options?: { readonly nameserver?: string | undefined }
  ) => Effect.Effect<void>
  /** `host` does not exist (NXDOMAIN). */
  readonly setNotFound: (host: string, options?: { readonly nameserver?: string | undefined }) => Effect.Effect<void>
  /** The zone's NS records (with their addresses as glue) and their TTL (D4). */
  readonly setZoneNameservers: (
    zone: string,
    servers: ReadonlyArray<{ readonly name: string; readonly address: string }>,
    ttl: Duration.DurationInput,
    options?: { readonly nameserver?: string | undefined }
  ) => Effect.Effect<void>
  /** From now on the server answers ("answer", the default) or fails every query. */
  readonly setServer: (nameserver: string, behaviour: "answer" | ScriptedFailure) => Effect.Effect<void>
  /** The server's next `times` queries (default 1) fail, then it goes back to its behaviour. */
  readonly failNext: (nameserver: string, failure: ScriptedFailure, times?: number) => Effect.Effect<void>
  /**
   * From now on the server takes this long (by `Clock`) to answer or fail each query; default 0.
   * Drives the learned hedge delay (U3) under `TestClock`.
   */
  readonly setLatency: (nameserver: string, latency: Duration.DurationInput) => Effect.Effect<void>
  /** Every query received so far, oldest first. */
  readonly queries: Effect.Effect<ReadonlyArray<QueryRecord>>
  readonly clearQueries: Effect.Effect<void>
}>() {}

/**
 * Settings of `layerTest`; durations default to the configuration's defaults.
 *
 * @since 0.1.0
 * @category testing
 */
export interface TestOptions {
  /** "ip:port" of the fake servers; default "192.0.2.1:53" and "192.0.2.2:53" (never contacted). */
  readonly nameservers?: ReadonlyArray<string> | undefined
  readonly dnsTimeout?: Duration.DurationInput | undefined
  readonly dnsMaxTtl?: Duration.DurationInput | undefined
  readonly dnsHealthWindow?: Duration.DurationInput | undefined
  readonly dnsHedgeMinDelay?: Duration.DurationInput | undefined
  readonly dnsHedgeMaxDelay?: Duration.DurationInput | undefined
  /** Default "example.test". */
  readonly dnsZone?: string | undefined
  /** Default false: the fixed servers are used as they are. */
  readonly dnsDiscovery?: boolean | undefined
}

type Scripted =
  | { readonly _tag: "Addresses"; readonly addresses: ReadonlyArray<string>; readonly ttl: number }
  | { readonly _tag: "NotFound" }
  | {
    readonly _tag: "Zone"
    readonly servers: ReadonlyArray<{ readonly name: string; readonly address: string }>
    readonly ttl: number
  }

const ANY = "*"

const seconds = (ttl: Duration.DurationInput): number => Duration.toMillis(Duration.decode(ttl)) / 1000

const makeTest = (options: TestOptions) =>
  Effect.gen(function*() {
    const script = new Map<string, Scripted>()
    const behaviour = new Map<string, "answer" | ScriptedFailure>()
    const queued = new Map<string, Array<ScriptedFailure>>()
    const latency = new Map<string, Duration.Duration>()
    const log: Array<QueryRecord> = []
    const key = (nameserver: string | undefined, name: string) => `${nameserver ?? ANY} ${normalizeName(name)}`

    const answerFor = (ns: string, question: Question): Effect.Effect<Response> => {
      const scripted = script.get(key(ns, question.name)) ?? script.get(key(undefined, question.name))
      const missing = () =>
        Effect.dieMessage(
          `TestResolver: nothing scripted for ${question.type} ${question.name} at ${ns}; ` +
            (question.type === "NS" ? "use TestResolver.setZoneNameservers" : "use TestResolver.setAnswer")
        )
      if (scripted === undefined) return missing()
      const name = normalizeName(question.name)
      switch (scripted._tag) {
        case "NotFound":
          return Effect.succeed({ rcode: "NXDOMAIN", answers: [], additionals: [] })
        case "Addresses": {
          if (question.type === "NS") return missing()
          const family = question.type === "A" ? 4 : 6
          const answers = scripted.addresses
            .filter((a) => Net.isIP(a) === family)
            .map((data) => ({ name, type: question.type, ttl: scripted.ttl, data }))
          return Effect.succeed({ rcode: "NOERROR", answers, additionals: [] })
        }
        case "Zone": {
          if (question.type !== "NS") return missing()
          return Effect.succeed({
            rcode: "NOERROR",
            answers: scripted.servers.map((s) => ({
              name,
              type: "NS",
              ttl: scripted.ttl,
              data: normalizeName(s.name)
            })),
            additionals: scripted.servers.map((s) => ({
              name: normalizeName(s.name),
              type: Net.isIPv6(s.address) ? "AAAA" : "A",
              ttl: scripted.ttl,
              data: s.address
            }))
          })
        }
      }
    }

    const transport: Transport = (server, question) =>
      Effect.gen(function*() {
        const ns = formatServer(server)
        const next = queued.get(ns)?.shift()
        const outcome = next ?? behaviour.get(ns) ?? "answer"
        log.push({
          nameserver: ns,
          name: normalizeName(question.name),
          type: question.type,
          at: yield* Clock.currentTimeMillis,
          outcome
        })
        const delay = latency.get(ns)
        if (delay !== undefined && outcome !== "timeout") yield* Effect.sleep(delay)
        switch (outcome) {
          case "answer":
            return yield* answerFor(ns, question)
          case "timeout":
            return yield* Effect.never
          case "refused":
            return { rcode: "REFUSED", answers: [], additionals: [] }
          case "servfail":
            return { rcode: "SERVFAIL", answers: [], additionals: [] }
          case "network":
            return yield* new QueryFailure({ reason: "network", detail: "ECONNREFUSED (scripted)" })
          case "malformed":
            return yield* new QueryFailure({ reason: "malformed", detail: "scripted" })
        }
      })

    const servers = (options.nameservers ?? ["192.0.2.1:53", "192.0.2.2:53"]).map((text) =>
      Option.getOrThrowWith(
        ConnectionConfig.parseNameserver(text),
        () => new Error(`Resolver.layerTest: ${JSON.stringify(text)} is not an IP or IP:PORT`)
      )
    )
    const defaults = ConnectionConfig.defaults
    const resolver = yield* makeWith({
      dnsTimeout: Duration.decode(options.dnsTimeout ?? defaults.dnsTimeout),
      dnsMaxTtl: Duration.decode(options.dnsMaxTtl ?? defaults.dnsMaxTtl),
      dnsHealthWindow: Duration.decode(options.dnsHealthWindow ?? defaults.dnsHealthWindow),
      dnsHedgeMinDelay: Duration.decode(options.dnsHedgeMinDelay ?? defaults.dnsHedgeMinDelay),
      dnsHedgeMaxDelay: Duration.decode(options.dnsHedgeMaxDelay ?? defaults.dnsHedgeMaxDelay),
      seeds: servers,
      seedSource: "config",
      dnsZone: normalizeName(options.dnsZone ?? "example.test"),
      dnsDiscovery: options.dnsDiscovery ?? false
    }, transport)

    const canonical = (nameserver: string | undefined) =>
      nameserver === undefined
        ? undefined
        : Option.match(ConnectionConfig.parseNameserver(nameserver), {
          onNone: () => nameserver,
          onSome: formatServer
        })

    const controller: Context.Tag.Service<TestResolver> = {
      setAnswer: (host, addresses, ttl, opts) =>
        Effect.sync(() =>
          void script.set(key(canonical(opts?.nameserver), host), {
            _tag: "Addresses",
            addresses: [...addresses],
            ttl: seconds(ttl)
          })
        ),
      setNotFound: (host, opts) =>
        Effect.sync(() => void script.set(key(canonical(opts?.nameserver), host), { _tag: "NotFound" })),
      setZoneNameservers: (zone, list, ttl, opts) =>
        Effect.sync(() =>
          void script.set(key(canonical(opts?.nameserver), zone), {
            _tag: "Zone",
            servers: [...list],
            ttl: seconds(ttl)
          })
        ),
      setServer: (nameserver, b) => Effect.sync(() => void behaviour.set(canonical(nameserver) ?? nameserver, b)),
      failNext: (nameserver, failure, times = 1) =>
        Effect.sync(() => {
          const ns = canonical(nameserver) ?? nameserver
          const queue = queued.get(ns) ?? []
          for (let i = 0; i < times; i++) queue.push(failure)
          queued.set(ns, queue)
        }),
      setLatency: (nameserver, d) =>
        Effect.sync(() => void latency.set(canonical(nameserver) ?? nameserver, Duration.decode(d))),
      queries: Effect.sync(() => [...log]),
      clearQueries: Effect.sync(() => void (log.length = 0))
    }
    return { resolver, controller }
  })

/**
 * A resolver whose servers are scripted through `TestResolver`; the cache, failover, health and
 * discovery logic are the live ones, timed by `Clock` (so `TestClock` drives them).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest = (options: TestOptions = {}): Layer.Layer<Resolver | TestResolver> =>
  Layer.scopedContext(
    Effect.map(makeTest(options), ({ controller, resolver }) =>
      Context.make(Resolver, resolver).pipe(Context.add(TestResolver, controller)))
  )
