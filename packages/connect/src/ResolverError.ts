/**
 * The resolver's errors (D1-D4): no DNS server answered, or the name does not resolve. Both happen
 * before a byte is sent to the gateway, so both are retryable.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Predicate from "effect/Predicate"
import type { ServerFailure } from "./Resolver.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@stpp/connect/ResolverError")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

const describeFailure = (f: ServerFailure): string => {
  switch (f.reason) {
    case "timeout":
      return `${f.nameserver} did not answer within ${f.detail}`
    case "refused":
      return `${f.nameserver} refused the query`
    case "servfail":
      return `${f.nameserver} failed to answer (SERVFAIL)`
    case "network":
      return `${f.nameserver} could not be reached (${f.detail})`
    case "malformed":
      return `${f.nameserver} sent something that is not a DNS answer (${f.detail})`
    case "rcode":
      return `${f.nameserver} answered with error ${f.detail}`
  }
}

/**
 * No DNS server gave a usable answer. Nothing was sent to the gateway: retryable.
 *
 * @since 0.1.0
 * @category errors
 */
export class DnsUnavailable extends Data.TaggedError("DnsUnavailable")<{
  readonly host: string
  /** Each server asked, in order, and how it failed; empty when there was no server to ask. */
  readonly failures: ReadonlyArray<ServerFailure>
}> {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  get message(): string {
    if (this.failures.length === 0) {
      return `cannot resolve ${this.host}: there is no DNS server to ask (STPP_NAMESERVERS is empty and the system lists none)`
    }
    return `cannot resolve ${this.host}: no DNS server answered (${this.failures.map(describeFailure).join("; ")})`
  }
}

/**
 * The name does not exist (NXDOMAIN) or has no A or AAAA record. Nothing was sent to the gateway:
 * retryable (a record may be added back).
 *
 * @since 0.1.0
 * @category errors
 */
export class DnsNotFound extends Data.TaggedError("DnsNotFound")<{
  readonly host: string
  /** `cname-loop`: the CNAME chain loops or is longer than 8 hops. */
  readonly reason: "nxdomain" | "nodata" | "cname-loop"
  /** The type looked up: "A/AAAA" for a host, "NS" for a zone. */
  readonly recordType: string
  /** "ip:port" of the server that said so. */
  readonly nameserver: string
}> {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  get message(): string {
    switch (this.reason) {
      case "nxdomain":
        return `${this.host} does not exist in DNS (NXDOMAIN from ${this.nameserver}); check the host name`
      case "nodata":
        return `${this.host} has no ${this.recordType} record (answer from ${this.nameserver})`
      case "cname-loop":
        return `${this.host} does not resolve: its CNAME chain loops or is longer than 8 hops (last answer from ${this.nameserver}); check its DNS records`
    }
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type DnsError = DnsUnavailable | DnsNotFound

/**
 * @since 0.1.0
 * @category refinements
 */
export const isDnsError = (u: unknown): u is DnsError => Predicate.hasProperty(u, TypeId)

/**
 * Every DNS failure happens before a byte is sent to the gateway, so the retry policy may retry it.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isRetryable: (u: unknown) => u is DnsError = isDnsError
