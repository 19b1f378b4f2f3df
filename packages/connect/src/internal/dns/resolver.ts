/**
 * The `Resolver` tag and the resolver's logic over any transport: the live layer passes the UDP/TCP
 * client, the test layer a scripted one, so the cache, failover, health and discovery the tests prove
 * are the ones that run in production. The tag lives here so that `Resolver` and the shipped fake
 * (`TestResolver`) both build on it without importing each other.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as Net from "node:net"
import * as ConnectionConfig from "../../ConnectionConfig.js"
import type { Answer, NameserverStatus, ResolverSettings } from "../../Resolver.js"
import { type DnsError, DnsUnavailable } from "../../ResolverError.js"
import * as Health from "./health.js"
import { lookupWith } from "./lookup.js"
import * as NameserverList from "./nameserverList.js"
import * as SharedLookups from "./sharedLookups.js"
import type { Transport } from "./transport.js"
import { formatServer, normalizeName } from "./transport.js"

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

const literalHost = (host: string): string => host.trim().replace(/^\[(.*)\]$/, "$1")

/** @internal */
export const makeWith = (
  settings: ResolverSettings,
  transport: Transport
): Effect.Effect<Context.Tag.Service<Resolver>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const maxTtlMillis = Duration.toMillis(settings.dnsMaxTtl)
    const seeds: ReadonlyArray<Health.ListEntry> = settings.seeds.map((s) => ({
      server: { address: s.address, port: s.port },
      key: formatServer(s),
      name: undefined,
      source: settings.seedSource
    }))
    const health = Health.make(
      {
        dnsTimeout: settings.dnsTimeout,
        dnsHealthWindow: settings.dnsHealthWindow,
        dnsHedgeMinDelay: settings.dnsHedgeMinDelay ?? ConnectionConfig.defaults.dnsHedgeMinDelay,
        dnsHedgeMaxDelay: settings.dnsHedgeMaxDelay ?? ConnectionConfig.defaults.dnsHedgeMaxDelay
      },
      transport,
      scope
    )
    const list = NameserverList.make(settings, seeds, health, scope)
    const noServers = (host: string) => new DnsUnavailable({ host, failures: [] })

    /**
     * The discovered servers first; when none of them answers (e.g. a network that lets DNS out
     * only through its own resolver), the configured servers as a last resort.
     */
    const lookup = (host: string): Effect.Effect<Answer, DnsError> =>
      Effect.flatMap(list.current(false), (servers) => {
        if (servers.length === 0) return Effect.fail(noServers(host))
        const primary = lookupWith(health.failover(servers, host), host, settings.dnsMaxTtl)
        if (servers === seeds || seeds.length === 0) return primary
        return Effect.catchTag(primary, "DnsUnavailable", (first) =>
          Effect.mapError(lookupWith(health.failover(seeds, host), host, settings.dnsMaxTtl), (error) =>
            error._tag === "DnsUnavailable"
              ? new DnsUnavailable({ host, failures: [...first.failures, ...error.failures] })
              : error))
      })
    const shared = SharedLookups.make(lookup, scope)

    const resolve = (input: string): Effect.Effect<Answer, DnsError> => {
      const literal = literalHost(input)
      if (Net.isIP(literal) !== 0) {
        return Effect.map(Clock.currentTimeMillis, (now): Answer => ({
          host: literal,
          addresses: [literal],
          ttl: settings.dnsMaxTtl,
          resolvedAt: now,
          expiresAt: now + maxTtlMillis,
          nameserver: undefined
        }))
      }
      return shared.get(normalizeName(input))
    }

    const invalidate = (input: string): Effect.Effect<void> =>
      Effect.sync(() => shared.invalidate(normalizeName(input)))

    const nameservers: Effect.Effect<ReadonlyArray<NameserverStatus>, DnsError> = Effect.gen(function*() {
      const servers = yield* list.current(true)
      if (servers.length === 0) {
        return yield* noServers(settings.dnsZone)
      }
      const now = yield* Clock.currentTimeMillis
      const listExpiresAt = list.expiresAt()
      return servers.map((e): NameserverStatus => {
        const h = health.failedAt(e.key)
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
        const servers = yield* list.current(true)
        return yield* Effect.forEach(
          servers,
          (entry) =>
            Effect.map(Effect.either(lookupWith(health.only(entry, host), host, settings.dnsMaxTtl)), (result) => ({
              nameserver: entry.key,
              result
            })),
          { concurrency: "unbounded" }
        )
      })

    return { resolve, invalidate, nameservers, queryEach }
  })
