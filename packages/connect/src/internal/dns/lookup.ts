/**
 * One name looked up through whichever servers an `Ask` reaches: A then AAAA, following CNAMEs,
 * with the smallest TTL along the chain, capped by `dnsMaxTtl` and never extended (D1).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { Answer } from "../../Resolver.js"
import { type DnsError, DnsNotFound, type DnsUnavailable } from "../../ResolverError.js"
import type { Question, Response, WireRecord } from "./transport.js"
import { normalizeName } from "./transport.js"

/** @internal */
export const MAX_CNAME_HOPS = 8

/** An answer and the server ("ip:port") that gave it. @internal */
export interface Asked {
  readonly server: string
  readonly response: Response
}

/** One question to some servers: failover over a list, or one server only. @internal */
export type Ask = (question: Question) => Effect.Effect<Asked, DnsUnavailable>

/** @internal */
export const ttlOf = (seconds: number, cap: Duration.Duration): Duration.Duration =>
  Duration.min(Duration.millis(Math.max(0, seconds) * 1000), cap)

/** The addresses of `type` for `name` in an answer section, following CNAMEs within it. @internal */
export const extract = (name: string, type: "A" | "AAAA", records: ReadonlyArray<WireRecord>) => {
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

/** A then AAAA, following CNAMEs; the TTL is the smallest along the chain, capped. @internal */
export const lookupWith = (ask: Ask, host: string, maxTtl: Duration.Duration): Effect.Effect<Answer, DnsError> =>
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
        const ttl = ttlOf(chainTtl, maxTtl)
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
