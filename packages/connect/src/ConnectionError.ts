/**
 * What `ConnectionService.request` can fail with: the request was not sent (safe to try again
 * later), the library refused to connect for security, or the request was (partly) sent and no
 * complete response came back, so the outcome is unknown and the request must not be resent.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Predicate from "effect/Predicate"
import * as Redact from "./Redact.js"
import type { DnsError } from "./ResolverError.js"
import type { ConnectPhaseError, TlsVerificationError } from "./TlsError.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@stpp/connect/ConnectionError")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Where a request was when it failed after its first byte was written (R3).
 *
 * @since 0.1.0
 * @category models
 */
export type Phase = "sending" | "awaiting" | "receiving"

/**
 * A connection the request was to go out on closed before a byte of it was written: the server
 * closed a fresh one at once, every connection tried closed, or the service was shut down.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionClosed extends Data.TaggedError("ConnectionClosed")<{
  readonly reason: "closed-before-write" | "every-connection-closed" | "shut-down"
  /** The connection's address, when one was open. */
  readonly address: string | undefined
  /** What undici saw, e.g. "reset" or "closed", for `closed-before-write`. */
  readonly detail?: string | undefined
}> {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  get message(): string {
    switch (this.reason) {
      case "closed-before-write":
        return `the connection to ${this.address} closed before the request could be written (${this.detail})`
      case "every-connection-closed":
        return "every connection closed before the request could be written"
      case "shut-down":
        return "the connection service was shut down (its layer closed)"
    }
  }
}

/**
 * Connect attempts to this gateway kept failing across the service's requests, and the shared
 * retry budget (U1, `STPP_RETRY_BUDGET`) is spent: this request's failure was not retried, or it
 * was not tried at all while the service probes whether the gateway is back. `last` is what failed
 * last, for this request or, when it made no attempt, for the service.
 *
 * @since 0.1.0
 * @category errors
 */
export class RetryBudgetSpent extends Data.TaggedError("RetryBudgetSpent")<{
  /** The last connect failure seen, e.g. a `ConnectRefused`. */
  readonly last: DnsError | ConnectPhaseError
  /** Tokens left in the budget when the request gave up. */
  readonly tokens: number
  /** The budget's size (`STPP_RETRY_BUDGET`). */
  readonly capacity: number
}> {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  get message(): string {
    return `the shared retry budget is spent (${this.tokens} of ${this.capacity} tokens left): connects to this gateway keep failing; last: ${
      Redact.string(this.last.message)
    }`
  }
}

/**
 * The caller's deadline (U2: `STPP_RETRY_TIMEOUT`, counted from when the request was made) came
 * while it waited for one of the `STPP_MAX_SOCKETS` sockets, or during its last connect attempt.
 *
 * @since 0.1.0
 * @category errors
 */
export class DeadlineReached extends Data.TaggedError("DeadlineReached")<{
  readonly phase: "waiting-for-socket" | "connecting"
  /** The retry time-out the deadline came from. */
  readonly timeoutMillis: number
}> {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  get message(): string {
    return this.phase === "waiting-for-socket"
      ? `no socket came free within the retry time-out (${this.timeoutMillis} ms)`
      : `the retry time-out (${this.timeoutMillis} ms) ran out during the connect attempt`
  }
}

/**
 * What can end the connect phase with nothing sent.
 *
 * @since 0.1.0
 * @category errors
 */
export type NotSentCause = DnsError | ConnectPhaseError | ConnectionClosed | RetryBudgetSpent | DeadlineReached

/**
 * The connect phase failed on every attempt the retry policy allowed; no request byte was written.
 * Safe to retry later. `cause` is the last attempt's own error (`catchTag` it through `cause`).
 *
 * @since 0.1.0
 * @category errors
 */
export class NotSent extends Data.TaggedError("NotSent")<{
  readonly host: string
  /** Connect attempts made. */
  readonly attempts: number
  readonly elapsedMillis: number
  /** The last attempt's failure, e.g. a `ConnectTimeout` or a `DnsUnavailable`. */
  readonly cause: NotSentCause
  /** The address of the last attempt, when DNS answered. */
  readonly address: string | undefined
  /** The caller's reference for the request, when given. */
  readonly reference: string | undefined
}> {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /**
   * The tag of the last failure, e.g. "ConnectTimeout", "DnsUnavailable".
   *
   * @deprecated use `cause._tag`
   */
  get lastError(): NotSentCause["_tag"] {
    return this.cause._tag
  }
  /**
   * The last failure's own message, redacted.
   *
   * @deprecated use `cause.message`
   */
  get lastMessage(): string {
    return Redact.string(this.cause.message)
  }
  get message(): string {
    return `request to ${this.host} was not sent: ${this.attempts} connect attempt(s) failed in ${this.elapsedMillis} ms; last: ${this.lastMessage}. Nothing was sent: it is safe to try again later`
  }
}

/**
 * The library refused the connection for security (S1, S4): a certificate or protocol failure.
 * Never retried; no request byte was written. `cause` is the refusal itself.
 *
 * @since 0.1.0
 * @category errors
 */
export class Refused extends Data.TaggedError("Refused")<{
  readonly host: string
  readonly address: string
  /** The verification failure, e.g. a `CertificateExpired`. */
  readonly cause: TlsVerificationError
  readonly attempts: number
  readonly reference: string | undefined
}> {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /**
   * The tag of the verification failure, e.g. "CertificateExpired".
   *
   * @deprecated use `cause._tag`
   */
  get reason(): TlsVerificationError["_tag"] {
    return this.cause._tag
  }
  /**
   * The verification failure's own message, redacted.
   *
   * @deprecated use `cause.message`
   */
  get detail(): string {
    return Redact.string(this.cause.message)
  }
  get message(): string {
    return `refused to send the request to ${this.host} (${this.address}) for security: ${this.detail}. Nothing was sent`
  }
}

/**
 * Request bytes were written but no complete response came back (R3). Not retried: the gateway
 * may have acted on the request. Look the transaction up instead of resending it.
 *
 * @since 0.1.0
 * @category errors
 */
export class OutcomeUnknown extends Data.TaggedError("OutcomeUnknown")<{
  readonly host: string
  readonly address: string
  readonly phase: Phase
  readonly bytesWritten: number
  /**
   * What ended it: "reset", "closed", "timeout", "malformed-response", "truncated-response",
   * "response-too-large" (over `STPP_MAX_RESPONSE_BYTES`), "response-headers-too-large" (a response
   * head over 16384 bytes, e.g. thousands of headers), "aborted", ...
   */
  readonly reason: string
  readonly elapsedMillis: number
  readonly attempts: number
  readonly reference: string | undefined
}> {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  get message(): string {
    const ref = this.reference === undefined ? "" : ` (reference ${this.reference})`
    const limit = this.reason === "response-headers-too-large"
      ? " (the response's headers exceeded the response header limit of 16384 bytes)"
      : ""
    return `outcome unknown for the request${ref} to ${this.host} (${this.address}): ${this.bytesWritten} bytes were sent, then ${this.reason}${limit} while ${this.phase}. Do not resend; look the transaction up`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type RequestError = NotSent | Refused | OutcomeUnknown

const REQUEST_ERROR_TAGS: ReadonlySet<unknown> = new Set(["NotSent", "Refused", "OutcomeUnknown"])

/**
 * @since 0.1.0
 * @category refinements
 */
export const isRequestError = (u: unknown): u is RequestError =>
  Predicate.hasProperty(u, TypeId) && REQUEST_ERROR_TAGS.has((u as { readonly _tag?: unknown })._tag)

/**
 * Whether `u` is any error of this module, `ConnectionClosed` included.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isConnectionError = (
  u: unknown
): u is RequestError | ConnectionClosed | RetryBudgetSpent | DeadlineReached => Predicate.hasProperty(u, TypeId)
