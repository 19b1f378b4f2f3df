/**
 * The list of servers (D4): the NS records of `dnsZone` and their addresses, looked up from the
 * configured (or system) servers and refreshed on the NS records' TTL, one refresh at a time; when
 * a refresh fails the last good list is kept.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberId from "effect/FiberId"
import * as LogLevel from "effect/LogLevel"
import type * as Scope from "effect/Scope"
import type { ResolverSettings } from "../../Resolver.js"
import { type DnsError, DnsNotFound } from "../../ResolverError.js"
import * as Emit from "../redact/emit.js"
import type { Health, ListEntry } from "./health.js"
import { extract, lookupWith, ttlOf } from "./lookup.js"
import { formatServer, normalizeName } from "./transport.js"

// DNS text (names, server addresses, the resolver's message) is redacted all the same (E2).
const NO_OPTIONS = Emit.optionsOf(undefined)

/** @internal */
export interface NameserverList {
  /** The current list; starts a refresh when one is due, and waits for it when `wait` (or on first use). */
  readonly current: (wait: boolean) => Effect.Effect<ReadonlyArray<ListEntry>>
  /** When the discovered list is refreshed next; `undefined` while the fixed list is used. */
  readonly expiresAt: () => number | undefined
}

/** @internal */
export const make = (
  settings: ResolverSettings,
  seeds: ReadonlyArray<ListEntry>,
  health: Health,
  scope: Scope.Scope
): NameserverList => {
  const maxTtlMillis = Duration.toMillis(settings.dnsMaxTtl)
  const healthMillis = Duration.toMillis(settings.dnsHealthWindow)
  const state: {
    /** The last list discovered from NS records. */
    discovered: ReadonlyArray<ListEntry> | undefined
    /** When discovery is due (epoch ms); 0: never tried. */
    refreshAt: number
    attempted: boolean
    pending: Deferred.Deferred<void> | undefined
  } = { discovered: undefined, refreshAt: 0, attempted: false, pending: undefined }

  const discover = Effect.gen(function*() {
    const zone = settings.dnsZone
    const ns = yield* health.failover(seeds, zone)({ name: zone, type: "NS" })
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
        : yield* Effect.either(
          Effect.map(lookupWith(health.failover(seeds, name), name, settings.dnsMaxTtl), (a) => a.addresses)
        )
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
    state.attempted = true
    if (Either.isRight(result)) {
      state.discovered = result.right.entries
      state.refreshAt = now + Duration.toMillis(result.right.ttl)
    } else {
      // Keep the last good list; try again after a while rather than on every lookup.
      state.refreshAt = now + Math.min(healthMillis, maxTtlMillis)
      yield* Emit.log(
        LogLevel.Warning,
        `DNS servers of ${settings.dnsZone} could not be refreshed: ${result.left.message}; ` +
          (state.discovered === undefined ? "using the configured servers" : "keeping the last good list"),
        undefined,
        NO_OPTIONS
      )
    }
  })

  const current = (wait: boolean): Effect.Effect<ReadonlyArray<ListEntry>> =>
    Effect.gen(function*() {
      if (!settings.dnsDiscovery || seeds.length === 0) return seeds
      const now = yield* Clock.currentTimeMillis
      let pending = state.pending
      if (pending === undefined && now >= state.refreshAt) {
        const deferred = Deferred.unsafeMake<void>(FiberId.none)
        state.pending = deferred
        pending = deferred
        yield* Effect.forkIn(
          refresh.pipe(Effect.onExit((exit) =>
            Effect.zipRight(
              Effect.sync(() => {
                state.pending = undefined
              }),
              Deferred.done(deferred, exit)
            )
          )),
          scope
        )
      }
      if (pending !== undefined && (wait || !state.attempted)) yield* Deferred.await(pending)
      return state.discovered ?? seeds
    })

  return {
    current,
    expiresAt: () => (settings.dnsDiscovery && state.discovered !== undefined ? state.refreshAt : undefined)
  }
}
