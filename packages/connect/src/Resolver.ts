/**
 * DNS that follows the gateway's load balancing (D1–D4).
 *
 * The gateway balances load by DNS: each answer names an address with a TTL under a minute, and
 * its DNS servers are all meant to be used. So the resolver asks the servers itself (not through the
 * system resolver, whose time-outs are seconds long and not under `Clock`):
 *
 * - D1: an answer is cached for its record's TTL, capped by `dnsMaxTtl` and never extended; callers
 *   asking at once for a name that is not cached share one query.
 * - D3: every server is asked in turn, each with its own short time-out (`dnsTimeout`); when one
 *   fails the next is asked at once, and a server that failed is asked last for `dnsHealthWindow`.
 * - D4: the list of servers is the NS records of `dnsZone` and their addresses, looked up from the
 *   configured servers (or the system's) and refreshed on the NS records' TTL; when a refresh fails
 *   the last good list is kept. NS records carry no port: discovered servers are asked on the port of
 *   the configured server that named them (53 in production). When none of the discovered servers
 *   answers, the configured ones are asked as a last resort.
 *
 * Every time-out, TTL and health window is measured with `Clock`, so `TestClock` drives them all.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Dns from "node:dns"
import * as Net from "node:net"
import * as ConnectionConfig from "./ConnectionConfig.js"
import * as DnsClient from "./internal/dnsClient.js"
import type { Question, Response, Server, Transport, WireRecord } from "./internal/dnsTransport.js"
import { formatServer, normalizeName, QueryFailure } from "./internal/dnsTransport.js"
import { DnsNotFound, type DnsError, DnsUnavailable } from "./ResolverError.js"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * A resolved host name.
 *
 * @since 0.1.0
 * @category models
 */
export interface Answer {
  readonly host: string
  /** At least one; IPv4 (A records) when there are any, else IPv6 (AAAA). */
  readonly addresses: ReadonlyArray<string>
  /** The record's TTL, capped by `dnsMaxTtl` (never extended). */
  readonly ttl: Duration.Duration
  /** Epoch ms from `Clock`. */
  readonly resolvedAt: number
  /** `resolvedAt + ttl`: the answer is not used from this instant on. */
  readonly expiresAt: number
  /** "ip:port" of the server that answered; `undefined` for an IP literal. */
  readonly nameserver: string | undefined
}

/**
 * Why one DNS server gave no usable answer: no answer within `dnsTimeout`, REFUSED, SERVFAIL, a
 * socket error (unreachable, port closed), bytes that are not a DNS answer, or another error code.
 *
 * @since 0.1.0
 * @category models
 */
export type FailureReason = "timeout" | "refused" | "servfail" | "network" | "malformed" | "rcode"

/**
 * How one server failed.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerFailure {
  /** "ip:port" */
  readonly nameserver: string
  readonly reason: FailureReason
  /** Safe detail: the time-out, an errno code or a response code. */
  readonly detail: string
}

/**
 * Where a server in the list comes from.
 *
 * @since 0.1.0
 * @category models
 */
export type NameserverSource = "config" | "system" | "discovered"

/**
 * One DNS server and its health, as the doctor command prints it (D5).
 *
 * @since 0.1.0
 * @category models
 */
export interface NameserverStatus {
  /** "ip:port" */
  readonly nameserver: string
  readonly address: string
  readonly port: number
  /** The NS record's target when discovered, e.g. "ns1.securetrading.net". */
  readonly name: string | undefined
  readonly source: NameserverSource
  /** False while the server is within `dnsHealthWindow` of a failure (it is asked last). */
  readonly healthy: boolean
  /** Epoch ms until which the server is asked last. */
  readonly unhealthyUntil: number | undefined
  readonly lastFailure: ServerFailure | undefined
  /** Epoch ms when the discovered list is refreshed next (the NS TTL); `undefined` for fixed lists. */
  readonly listExpiresAt: number | undefined
}

/**
 * The errors, also importable from `ResolverError`.
 *
 * @since 0.1.0
 */
export * from "./ResolverError.js"

// -----------------------------------------------------------------------------
// service
// -----------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category tags
 */
export class Resolver extends Context.Tag("@stpp/connect/Resolver")<Resolver, {
  /** The host's addresses, cached until `expiresAt`; concurrent callers share one query (D1, D3). */
  readonly resolve: (host: string) => Effect.Effect<Answer, DnsError>
  /** Drops the cached answer, e.g. after a failed connect to its address. */
  readonly invalidate: (host: string) => Effect.Effect<void>
  /** The current list of servers (discovered or fixed) with their health (D4, D5). */
  readonly nameservers: Effect.Effect<ReadonlyArray<NameserverStatus>, DnsError>
  /** Asks every server in the list for `host`, bypassing the cache and health (D5). */
  readonly queryEach: (
    host: string
  ) => Effect.Effect<ReadonlyArray<{ readonly nameserver: string; readonly result: Either.Either<Answer, DnsError> }>>
}>() {}

// -----------------------------------------------------------------------------
// the resolver's logic, over any transport
// -----------------------------------------------------------------------------

/**
 * What the resolver's logic needs, whatever asks the servers.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResolverSettings {
  readonly dnsTimeout: Duration.Duration
  readonly dnsMaxTtl: Duration.Duration
  readonly dnsHealthWindow: Duration.Duration
  /** Fixed servers; also where NS discovery starts. */
  readonly seeds: ReadonlyArray<{ readonly address: string; readonly port: number }>
  readonly seedSource: "config" | "system"
  readonly dnsZone: string
  readonly dnsDiscovery: boolean
}

interface ListEntry {
  readonly server: Server
  readonly key: string
  readonly name: string | undefined
  readonly source: NameserverSource
}

interface Health {
  readonly unhealthyUntil: number
  readonly failure: ServerFailure
}

type CacheEntry =
  | { readonly _tag: "Ready"; readonly answer: Answer }
  | { readonly _tag: "Pending"; readonly deferred: Deferred.Deferred<Answer, DnsError> }

interface Asked {
  readonly server: string
  readonly response: Response
}

type Ask = (question: Question) => Effect.Effect<Asked, DnsUnavailable>

const MAX_CNAME_HOPS = 8

const ttlOf = (seconds: number, cap: Duration.Duration): Duration.Duration =>
  Duration.min(Duration.millis(Math.max(0, seconds) * 1000), cap)

/** The addresses of `type` for `name` in an answer section, following CNAMEs within it. */
const extract = (name: string, type: "A" | "AAAA", records: ReadonlyArray<WireRecord>) => {
  let current = name
  let ttl = Number.POSITIVE_INFINITY
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
    const found = records.filter((r) => r.type === type && r.name === current && r.data !== "")
    if (found.length > 0) {
      for (const r of found) ttl = Math.min(ttl, r.ttl)
      return { addresses: found.map((r) => r.data), ttl, target: current }
    }
    const cname = records.find((r) => r.type === "CNAME" && r.name === current && r.data !== "")
    if (cname === undefined) break
    ttl = Math.min(ttl, cname.ttl)
    current = normalizeName(cname.data)
  }
  return { addresses: [] as ReadonlyArray<string>, ttl, target: current }
}

const literalHost = (host: string): string => host.trim().replace(/^\[(.*)\]$/, "$1")

const toServer = (s: { readonly address: string; readonly port: number }): ListEntry["server"] => ({
  address: s.address,
  port: s.port
})

/**
 * The resolver's logic over a transport: the live layer passes the UDP/TCP client, the test layer a
 * scripted one, so the cache, failover, health and discovery that the tests prove are the ones that
 * run in production. Not exported: the transport is internal.
 */
const makeWith = (
  settings: ResolverSettings,
  transport: Transport
): Effect.Effect<Context.Tag.Service<Resolver>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const maxTtlMillis = Duration.toMillis(settings.dnsMaxTtl)
    const healthMillis = Duration.toMillis(settings.dnsHealthWindow)
    const seeds: ReadonlyArray<ListEntry> = settings.seeds.map((s) => ({
      server: toServer(s),
      key: formatServer(s),
      name: undefined,
      source: settings.seedSource
    }))
    const health = new Map<string, Health>()
    const cache = new Map<string, CacheEntry>()

    // --- one server -----------------------------------------------------------

    /** One question to one server with its own time-out; an error code is a failure of that server. */
    const askOne = (entry: ListEntry, question: Question): Effect.Effect<Response, ServerFailure> =>
      transport(entry.server, question).pipe(
        Effect.timeoutFail({
          duration: settings.dnsTimeout,
          onTimeout: () => new QueryFailure({ reason: "timeout", detail: Duration.format(settings.dnsTimeout) })
        }),
        Effect.flatMap((response): Effect.Effect<Response, QueryFailure> => {
          switch (response.rcode) {
            case "NOERROR":
            case "NXDOMAIN":
              return Effect.succeed(response)
            case "REFUSED":
              return Effect.fail(new QueryFailure({ reason: "refused", detail: "REFUSED" }))
            case "SERVFAIL":
              return Effect.fail(new QueryFailure({ reason: "servfail", detail: "SERVFAIL" }))
            default:
              return Effect.fail(new QueryFailure({ reason: "rcode", detail: response.rcode }))
          }
        }),
        Effect.mapError((f) => ({ nameserver: entry.key, reason: f.reason, detail: f.detail }))
      )

    // --- health and order -----------------------------------------------------

    const markFailed = (failure: ServerFailure) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        health.set(failure.nameserver, { unhealthyUntil: now + healthMillis, failure })
      })

    const markHealthy = (key: string) => Effect.sync(() => void health.delete(key))

    /** Healthy servers in list order, then those that failed, the one that failed first first. */
    const ordered = (list: ReadonlyArray<ListEntry>, now: number): ReadonlyArray<ListEntry> => {
      const until = (e: ListEntry) => health.get(e.key)?.unhealthyUntil ?? 0
      const healthy = list.filter((e) => until(e) <= now)
      const unhealthy = list.filter((e) => until(e) > now).sort((a, b) => until(a) - until(b))
      return [...healthy, ...unhealthy]
    }

    /** Asks the servers in order until one answers (D3). */
    const failover = (list: ReadonlyArray<ListEntry>, host: string): Ask => (question) =>
      Effect.gen(function*() {
        const failures: Array<ServerFailure> = []
        for (const entry of ordered(list, yield* Clock.currentTimeMillis)) {
          const result = yield* Effect.either(askOne(entry, question))
          if (Either.isRight(result)) {
            yield* markHealthy(entry.key)
            return { server: entry.key, response: result.right }
          }
          failures.push(result.left)
          yield* markFailed(result.left)
        }
        return yield* new DnsUnavailable({ host, failures })
      })

    /** Asks one server only, health untouched (the doctor's view of each server). */
    const only = (entry: ListEntry, host: string): Ask => (question) =>
      askOne(entry, question).pipe(
        Effect.map((response) => ({ server: entry.key, response })),
        Effect.mapError((failure) => new DnsUnavailable({ host, failures: [failure] }))
      )

    // --- one name -------------------------------------------------------------

    /** A then AAAA, following CNAMEs; the TTL is the smallest along the chain, capped. */
    const lookupWith = (ask: Ask, host: string): Effect.Effect<Answer, DnsError> =>
      Effect.gen(function*() {
        let name = host
        let chainTtl = Number.POSITIVE_INFINITY
        let lastServer = ""
        for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
          const a = yield* ask({ name, type: "A" })
          if (a.response.rcode === "NXDOMAIN") {
            return yield* new DnsNotFound({ host, reason: "nxdomain", recordType: "A/AAAA", nameserver: a.server })
          }
          let found = extract(name, "A", a.response.answers)
          let server = a.server
          if (found.addresses.length === 0 && found.target === name) {
            const aaaa = yield* ask({ name, type: "AAAA" })
            found = extract(name, "AAAA", aaaa.response.answers)
            server = aaaa.server
          }
          lastServer = server
          chainTtl = Math.min(chainTtl, found.ttl)
          if (found.addresses.length > 0) {
            const now = yield* Clock.currentTimeMillis
            const ttl = ttlOf(chainTtl, settings.dnsMaxTtl)
            return {
              host,
              addresses: found.addresses,
              ttl,
              resolvedAt: now,
              expiresAt: now + Duration.toMillis(ttl),
              nameserver: server
            } satisfies Answer
          }
          if (found.target === name) {
            return yield* new DnsNotFound({ host, reason: "nodata", recordType: "A/AAAA", nameserver: server })
          }
          // A CNAME whose target the server did not add: ask for the target.
          name = found.target
        }
        return yield* new DnsNotFound({ host, reason: "cname-loop", recordType: "A/AAAA", nameserver: lastServer })
      })

    // --- the list of servers (D4) ---------------------------------------------

    interface ListState {
      /** The last list discovered from NS records. */
      discovered: ReadonlyArray<ListEntry> | undefined
      /** When discovery is due (epoch ms); 0: never tried. */
      refreshAt: number
      attempted: boolean
      pending: Deferred.Deferred<void> | undefined
    }
    const listState: ListState = { discovered: undefined, refreshAt: 0, attempted: false, pending: undefined }

    const discover = Effect.gen(function*() {
      const zone = settings.dnsZone
      const ns = yield* failover(seeds, zone)({ name: zone, type: "NS" })
      if (ns.response.rcode === "NXDOMAIN") {
        return yield* new DnsNotFound({ host: zone, reason: "nxdomain", recordType: "NS", nameserver: ns.server })
      }
      const records = ns.response.answers.filter((r) => r.type === "NS" && r.name === zone && r.data !== "")
      if (records.length === 0) {
        return yield* new DnsNotFound({ host: zone, reason: "nodata", recordType: "NS", nameserver: ns.server })
      }
      // NS records carry no port: the servers are asked on the port of the server that named them.
      const port = seeds.find((s) => s.key === ns.server)?.server.port ?? 53
      const entries: Array<ListEntry> = []
      let lastError: DnsError | undefined
      for (const record of records) {
        const name = normalizeName(record.data)
        const glue = extract(name, "A", ns.response.additionals).addresses
        const addresses = glue.length > 0
          ? Either.right(glue)
          : yield* Effect.either(Effect.map(lookupWith(failover(seeds, name), name), (a) => a.addresses))
        if (Either.isLeft(addresses)) {
          lastError = addresses.left
          continue
        }
        for (const address of addresses.right) {
          const server = { address, port }
          const key = formatServer(server)
          if (!entries.some((e) => e.key === key)) entries.push({ server, key, name, source: "discovered" })
        }
      }
      if (entries.length === 0) {
        return yield* (lastError ??
          new DnsNotFound({ host: zone, reason: "nodata", recordType: "NS", nameserver: ns.server }))
      }
      const ttl = ttlOf(Math.min(...records.map((r) => r.ttl)), settings.dnsMaxTtl)
      return { entries, ttl }
    })

    const refresh = Effect.gen(function*() {
      const result = yield* Effect.either(discover)
      const now = yield* Clock.currentTimeMillis
      listState.attempted = true
      if (Either.isRight(result)) {
        listState.discovered = result.right.entries
        listState.refreshAt = now + Duration.toMillis(result.right.ttl)
      } else {
        // Keep the last good list; try again after a while rather than on every lookup.
        listState.refreshAt = now + Math.min(healthMillis, maxTtlMillis)
        yield* Effect.logWarning(
          `DNS servers of ${settings.dnsZone} could not be refreshed: ${result.left.message}; ` +
            (listState.discovered === undefined ? "using the configured servers" : "keeping the last good list")
        )
      }
    })

    /** Starts a refresh when one is due (one at a time); `wait` awaits it. */
    const currentList = (wait: boolean): Effect.Effect<ReadonlyArray<ListEntry>> =>
      Effect.gen(function*() {
        if (!settings.dnsDiscovery || seeds.length === 0) return seeds
        const now = yield* Clock.currentTimeMillis
        let pending = listState.pending
        if (pending === undefined && now >= listState.refreshAt) {
          const deferred = Deferred.unsafeMake<void>(FiberId.none)
          listState.pending = deferred
          pending = deferred
          yield* Effect.forkIn(
            refresh.pipe(Effect.onExit((exit) =>
              Effect.zipRight(
                Effect.sync(() => {
                  listState.pending = undefined
                }),
                Deferred.done(deferred, exit)
              )
            )),
            scope
          )
        }
        if (pending !== undefined && (wait || !listState.attempted)) yield* Deferred.await(pending)
        return listState.discovered ?? seeds
      })

    const noServers = (host: string) => new DnsUnavailable({ host, failures: [] })

    // --- the cache (D1) -------------------------------------------------------

    /**
     * The discovered servers first; when none of them answers (e.g. a network that lets DNS out
     * only through its own resolver), the configured servers as a last resort.
     */
    const lookup = (host: string): Effect.Effect<Answer, DnsError> =>
      Effect.flatMap(currentList(false), (list) => {
        if (list.length === 0) return Effect.fail(noServers(host))
        const primary = lookupWith(failover(list, host), host)
        if (list === seeds || seeds.length === 0) return primary
        return Effect.catchTag(primary, "DnsUnavailable", (first) =>
          Effect.mapError(lookupWith(failover(seeds, host), host), (error) =>
            error._tag === "DnsUnavailable"
              ? new DnsUnavailable({ host, failures: [...first.failures, ...error.failures] })
              : error))
      })

    const literal = (host: string) =>
      Effect.map(Clock.currentTimeMillis, (now): Answer => ({
        host,
        addresses: [host],
        ttl: settings.dnsMaxTtl,
        resolvedAt: now,
        expiresAt: now + maxTtlMillis,
        nameserver: undefined
      }))

    const resolve = (input: string): Effect.Effect<Answer, DnsError> => {
      if (Net.isIP(literalHost(input)) !== 0) {
        return literal(literalHost(input))
      }
      const host = normalizeName(input)
      return Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.suspend(() => {
          const entry = cache.get(host)
          if (entry?._tag === "Ready" && now < entry.answer.expiresAt) {
            return Effect.succeed(entry.answer)
          }
          if (entry?._tag === "Pending") {
            return Deferred.await(entry.deferred)
          }
          // The query runs in the resolver's scope, not the caller's: a caller that gives up does
          // not cancel it for the others waiting on it.
          const deferred = Deferred.unsafeMake<Answer, DnsError>(FiberId.none)
          cache.set(host, { _tag: "Pending", deferred })
          const settle = (exit: Exit.Exit<Answer, DnsError>) =>
            Effect.zipRight(
              Effect.sync(() => {
                const current = cache.get(host)
                if (current?._tag !== "Pending" || current.deferred !== deferred) {
                  return
                }
                if (Exit.isSuccess(exit)) {
                  cache.set(host, { _tag: "Ready", answer: exit.value })
                } else cache.delete(host)
              }),
              Deferred.done(deferred, exit)
            )
          return Effect.zipRight(
            Effect.forkIn(Effect.onExit(lookup(host), settle), scope),
            Deferred.await(deferred)
          )
        }))
    }

    const invalidate = (input: string): Effect.Effect<void> =>
      Effect.sync(() => {
        const host = normalizeName(input)
        if (cache.get(host)?._tag === "Ready") {
          cache.delete(host)
        }
      })

    // --- diagnostics (D5) -----------------------------------------------------

    const nameservers: Effect.Effect<ReadonlyArray<NameserverStatus>, DnsError> = Effect.gen(function*() {
      const list = yield* currentList(true)
      if (list.length === 0) {
        return yield* noServers(settings.dnsZone)
      }
      const now = yield* Clock.currentTimeMillis
      const listExpiresAt = settings.dnsDiscovery && listState.discovered !== undefined
        ? listState.refreshAt
        : undefined
      return list.map((e): NameserverStatus => {
        const h = health.get(e.key)
        const unhealthy = h !== undefined && h.unhealthyUntil > now
        return {
          nameserver: e.key,
          address: e.server.address,
          port: e.server.port,
          name: e.name,
          source: e.source,
          healthy: !unhealthy,
          unhealthyUntil: unhealthy ? h.unhealthyUntil : undefined,
          lastFailure: h?.failure,
          listExpiresAt
        }
      })
    })

    const queryEach = (input: string) =>
      Effect.gen(function*() {
        if (Net.isIP(literalHost(input)) !== 0) {
          return []
        }
        const host = normalizeName(input)
        const list = yield* currentList(true)
        return yield* Effect.forEach(
          list,
          (entry) =>
            Effect.map(Effect.either(lookupWith(only(entry, host), host)), (result) => ({
              nameserver: entry.key,
              result
            })),
          { concurrency: "unbounded" }
        )
      })

    return { resolve, invalidate, nameservers, queryEach }
  })

// -----------------------------------------------------------------------------
// live
// -----------------------------------------------------------------------------

const systemServers = (): ReadonlyArray<ConnectionConfig.Nameserver> =>
  Dns.getServers().flatMap((s) => Option.toArray(ConnectionConfig.parseNameserver(s)))

/**
 * The resolver's settings from the connection's; the system's DNS servers when none are configured.
 *
 * @since 0.1.0
 * @category constructors
 */
export const settingsFrom = (s: ConnectionConfig.ConnectionSettings): ResolverSettings => {
  const configured = s.nameservers.length > 0
  return {
    dnsTimeout: s.dnsTimeout,
    dnsMaxTtl: s.dnsMaxTtl,
    dnsHealthWindow: s.dnsHealthWindow,
    seeds: configured ? s.nameservers : systemServers(),
    seedSource: configured ? "config" : "system",
    dnsZone: s.dnsZone,
    dnsDiscovery: s.dnsDiscovery
  }
}

/**
 * The live resolver: asks the servers directly over UDP (TCP when an answer is truncated).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<
  Context.Tag.Service<Resolver>,
  never,
  ConnectionConfig.ConnectionConfig | Scope.Scope
> = Effect.flatMap(ConnectionConfig.ConnectionConfig, (s) => makeWith(settingsFrom(s), DnsClient.transport))

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Resolver, never, ConnectionConfig.ConnectionConfig> = Layer.scoped(Resolver, make)

// -----------------------------------------------------------------------------
// test
// -----------------------------------------------------------------------------

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
