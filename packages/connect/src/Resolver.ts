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
 * - U3: when a server has not answered within the hedge delay, the next is asked too while the
 *   first query stays open, and the first answer wins. The delay is learned from the servers' answer
 *   times (RFC 6298's SRTT + 4 * RTTVAR of the best server), between `dnsHedgeMinDelay` and
 *   `dnsHedgeMaxDelay` (the cap is also the delay before any answer was seen). A query that lost is
 *   left to end in its own time-out, so its outcome still counts for health and the delay.
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
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Dns from "node:dns"
import * as ConnectionConfig from "./ConnectionConfig.js"
import * as DnsClient from "./internal/dns/client.js"
import * as Internal from "./internal/dns/resolver.js"
import { Resolver } from "./internal/dns/resolver.js"

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

export {
  /**
   * @since 0.1.0
   * @category tags
   */
  Resolver
}

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
  /** Floor of the learned hedge delay (U3); default `ConnectionConfig.defaults.dnsHedgeMinDelay`. */
  readonly dnsHedgeMinDelay?: Duration.Duration | undefined
  /** Cap of the learned hedge delay, and the delay before any answer was seen (U3). */
  readonly dnsHedgeMaxDelay?: Duration.Duration | undefined
}

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
    dnsDiscovery: s.dnsDiscovery,
    dnsHedgeMinDelay: s.dnsHedgeMinDelay,
    dnsHedgeMaxDelay: s.dnsHedgeMaxDelay
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
> = Effect.flatMap(ConnectionConfig.ConnectionConfig, (s) => Internal.makeWith(settingsFrom(s), DnsClient.transport))

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Resolver, never, ConnectionConfig.ConnectionConfig> = Layer.scoped(Resolver, make)

// -----------------------------------------------------------------------------
// test (kept here for existing imports; the fake lives in TestResolver)
// -----------------------------------------------------------------------------

export {
  /**
   * @since 0.1.0
   * @category testing
   */
  layerTest,
  /**
   * @since 0.1.0
   * @category testing
   */
  TestResolver
} from "./TestResolver.js"

export type {
  /**
   * @since 0.1.0
   * @category testing
   */
  QueryRecord,
  /**
   * @since 0.1.0
   * @category testing
   */
  ScriptedFailure,
  /**
   * @since 0.1.0
   * @category testing
   */
  TestOptions
} from "./TestResolver.js"
