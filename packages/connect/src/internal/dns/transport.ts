/**
 * The seam between the resolver's logic (cache, failover, health, NS discovery) and the wire: one
 * question to one server, one answer or one failure. The live transport speaks DNS over UDP/TCP; the
 * test transport answers from a script. Time-outs are applied by the resolver, not here, so that
 * `TestClock` drives them for both.
 *
 * @internal
 */
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import * as Net from "node:net"

/** @internal */
export interface Server {
  readonly address: string
  readonly port: number
}

/** @internal */
export type QuestionType = "A" | "AAAA" | "NS"

/** @internal */
export interface Question {
  readonly name: string
  readonly type: QuestionType
}

/** @internal */
export interface WireRecord {
  readonly name: string
  readonly type: string
  /** Seconds, as on the wire. */
  readonly ttl: number
  /** Address or target name; empty for record types the resolver does not read. */
  readonly data: string
}

/** @internal */
export interface Response {
  readonly rcode: string
  readonly answers: ReadonlyArray<WireRecord>
  readonly additionals: ReadonlyArray<WireRecord>
}

/**
 * Why one server gave no usable answer.
 *
 * @since 0.1.0
 * @category models
 */
export type FailureReason = "timeout" | "refused" | "servfail" | "network" | "malformed" | "rcode"

/** @internal */
export class QueryFailure extends Data.TaggedError("QueryFailure")<{
  readonly reason: FailureReason
  /** Safe detail: an errno code, an rcode name, a byte count; never a payload. */
  readonly detail: string
}> {}

/** @internal */
export type Transport = (server: Server, question: Question) => Effect.Effect<Response, QueryFailure>

/** @internal */
export const formatServer = (server: Server): string =>
  Net.isIPv6(server.address) ? `[${server.address}]:${server.port}` : `${server.address}:${server.port}`

/** @internal */
export const normalizeName = (name: string): string => name.trim().toLowerCase().replace(/\.$/, "")
