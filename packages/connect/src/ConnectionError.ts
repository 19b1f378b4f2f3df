/**
 * What `ConnectionService.request` can fail with: the request was not sent (safe to try again
 * later), the library refused to connect for security, or the request was (partly) sent and no
 * complete response came back, so the outcome is unknown and the request must not be resent.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * Where a request was when it failed after its first byte was written (R3).
 *
 * @since 0.1.0
 * @category models
 */
export type Phase = "sending" | "awaiting" | "receiving"

/**
 * The connect phase failed on every attempt the retry policy allowed; no request byte was written.
 * Safe to retry later.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotSent extends Data.TaggedError("NotSent")<{
  readonly host: string
  /** Connect attempts made. */
  readonly attempts: number
  readonly elapsedMillis: number
  /** The tag of the last failure, e.g. "ConnectTimeout", "DnsUnavailable". */
  readonly lastError: string
  /** The last failure's own (redacted) message. */
  readonly lastMessage: string
  /** The address of the last attempt, when DNS answered. */
  readonly address: string | undefined
  /** The caller's reference for the request, when given. */
  readonly reference: string | undefined
}> {
  get message(): string {
    return `request to ${this.host} was not sent: ${this.attempts} connect attempt(s) failed in ${this.elapsedMillis} ms; last: ${this.lastMessage}. Nothing was sent: it is safe to try again later`
  }
}

/**
 * The library refused the connection for security (S1, S4): a certificate or protocol failure.
 * Never retried; no request byte was written.
 *
 * @since 0.1.0
 * @category errors
 */
export class Refused extends Data.TaggedError("Refused")<{
  readonly host: string
  readonly address: string
  /** The tag of the verification failure, e.g. "CertificateExpired". */
  readonly reason: string
  /** The verification failure's own message. */
  readonly detail: string
  readonly attempts: number
  readonly reference: string | undefined
}> {
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
   * "response-too-large" (over `STPP_MAX_RESPONSE_BYTES`), "aborted", ...
   */
  readonly reason: string
  readonly elapsedMillis: number
  readonly attempts: number
  readonly reference: string | undefined
}> {
  get message(): string {
    const ref = this.reference === undefined ? "" : ` (reference ${this.reference})`
    return `outcome unknown for the request${ref} to ${this.host} (${this.address}): ${this.bytesWritten} bytes were sent, then ${this.reason} while ${this.phase}. Do not resend; look the transaction up`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type RequestError = NotSent | Refused | OutcomeUnknown

/**
 * @since 0.1.0
 * @category refinements
 */
export const isRequestError = (u: unknown): u is RequestError =>
  u instanceof NotSent || u instanceof Refused || u instanceof OutcomeUnknown
