/**
 * What a gateway call can fail with. Every error says what happened in words an operator can act
 * on, and holds only safe data (codes, field names, references, addresses, statuses): never a
 * request or response body, a header, or a card value.
 *
 * A decline (70000) is not here: for AUTH and ACCOUNTCHECK it is a result (`Declined`), because a
 * payment API's caller handles "the bank said no" as an ordinary answer, not as a failure to talk
 * to the gateway.
 *
 * @since 0.1.0
 */
import type * as ConnectionError from "@stpp/connect/ConnectionError"
import * as Data from "effect/Data"

const PAN_LIKE = /\d(?:[ -]?\d){11,18}/g

/** Masks anything that looks like a card number in text the gateway sent back (L1). */
const safeText = (text: string): string => text.slice(0, 200).replace(PAN_LIKE, "[number removed]")

const ref = (reference: string | undefined): string => reference === undefined ? "" : ` (reference ${reference})`

/**
 * The request could not be encoded: a field breaks its schema, or a required field (such as the
 * site reference) is missing. Nothing was sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRequest extends Data.TaggedError("InvalidRequest")<{
  /** The paths of the invalid fields, e.g. ["request", "0", "baseamount"]. */
  readonly fields: ReadonlyArray<string>
  readonly reference: string | undefined
}> {
  get message(): string {
    return `the request${ref(this.reference)} is invalid and was not sent: check ${this.fields.join(", ")}`
  }
}

/**
 * errorcode 30000: the gateway rejected a field.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidField extends Data.TaggedError("InvalidField")<{
  readonly code: string
  /** From `errordata`; "unknown" when the gateway did not say. */
  readonly field: string
  readonly requestType: string | undefined
  readonly reference: string
}> {
  get message(): string {
    return `the gateway rejected the field "${this.field}" of the ${this.requestType ?? "request"}${
      ref(this.reference)
    } (errorcode ${this.code}): fix the value and send again`
  }
}

/**
 * errorcode 60022: the web-services user or password was not accepted.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthenticated extends Data.TaggedError("Unauthenticated")<{
  readonly code: string
  readonly username: string
  readonly reference: string
}> {
  get message(): string {
    return `the gateway did not accept the web-services user "${this.username}"${
      ref(this.reference)
    } (errorcode ${this.code}): check STPP_USERNAME and STPP_PASSWORD`
  }
}

/**
 * errorcodes 50000-50014 and 60020: the gateway could not complete the request upstream (acquirer
 * or bank communication). The gateway answered, so the request is not lost; whether a payment
 * happened is best checked with a TRANSACTIONQUERY before trying again.
 *
 * @since 0.1.0
 * @category errors
 */
export class UpstreamUnavailable extends Data.TaggedError("UpstreamUnavailable")<{
  readonly code: string
  readonly requestType: string | undefined
  readonly reference: string
}> {
  get message(): string {
    return `the gateway could not reach its upstream for the ${this.requestType ?? "request"}${
      ref(this.reference)
    } (errorcode ${this.code}): try again later; for a payment, look it up first`
  }
}

/**
 * Any other non-zero errorcode.
 *
 * @since 0.1.0
 * @category errors
 */
export class GatewayFailure extends Data.TaggedError("GatewayFailure")<{
  readonly code: string
  /** The gateway's own message, cut to 200 characters with anything like a card number removed. */
  readonly errormessage: string
  readonly requestType: string | undefined
  readonly reference: string
}> {
  get message(): string {
    return `the gateway answered errorcode ${this.code} ("${this.errormessage}") to the ${
      this.requestType ?? "request"
    }${ref(this.reference)}`
  }
}

/**
 * The gateway answered with an HTTP status other than 200. A 5xx to a payment may mean the
 * payment was processed: look it up before resending.
 *
 * @since 0.1.0
 * @category errors
 */
export class HttpStatusError extends Data.TaggedError("HttpStatusError")<{
  readonly status: number
  readonly address: string
  readonly reference: string
}> {
  get message(): string {
    return `the gateway (${this.address}) answered HTTP ${this.status} to the request${ref(this.reference)}${
      this.status >= 500 ? "; the outcome is unknown: look the transaction up before resending" : ""
    }`
  }
}

/**
 * The response was not JSON, or not the envelope the API defines. The request reached the
 * gateway: its outcome is unknown.
 *
 * @since 0.1.0
 * @category errors
 */
export class MalformedResponse extends Data.TaggedError("MalformedResponse")<{
  readonly reason: "not-json" | "not-an-envelope" | "wrong-number-of-responses"
  /** The paths where the envelope broke its schema (no values). */
  readonly paths: ReadonlyArray<string>
  readonly address: string
  readonly reference: string
}> {
  get message(): string {
    const where = this.paths.length > 0 ? ` at ${this.paths.join(", ")}` : ""
    return `the gateway (${this.address}) sent a malformed response (${this.reason}${where}) to the request${
      ref(this.reference)
    }; the outcome is unknown: look the transaction up before resending`
  }
}

/**
 * The response's `requestreference` is not the one sent: it answers some other request. The
 * request reached the gateway: its outcome is unknown.
 *
 * @since 0.1.0
 * @category errors
 */
export class ReferenceMismatch extends Data.TaggedError("ReferenceMismatch")<{
  readonly sent: string
  readonly received: string
  readonly address: string
}> {
  get message(): string {
    return `the response from ${this.address} carries requestreference ${this.received}, not ${this.sent} as sent: it belongs to another request; the outcome of ${this.sent} is unknown: look the transaction up before resending`
  }
}

/**
 * The payment's outcome was unknown and the lookup by order reference did not find it. The
 * gateway most likely never processed it; confirm before paying again (e.g. query once more a
 * little later) and reuse the same order reference.
 *
 * @since 0.1.0
 * @category errors
 */
export class PaymentNotFound extends Data.TaggedError("PaymentNotFound")<{
  readonly orderreference: string
  /** The request reference of the payment whose outcome was unknown. */
  readonly reference: string | undefined
  /** The tag of the error that made the outcome unknown. */
  readonly after: string
}> {
  get message(): string {
    return `the payment with order reference ${this.orderreference}${
      ref(this.reference)
    } had an unknown outcome (${this.after}) and no transaction with that order reference was found: it most likely did not happen; confirm before paying again`
  }
}

/**
 * The payment's outcome was unknown and the lookup itself failed. Do not resend: look the
 * payment up again later.
 *
 * @since 0.1.0
 * @category errors
 */
export class LookupFailed extends Data.TaggedError("LookupFailed")<{
  readonly orderreference: string
  readonly reference: string | undefined
  /** The tag of the error that made the outcome unknown. */
  readonly after: string
  /** The tag of the lookup's own failure. */
  readonly lookupError: string
  readonly lookupMessage: string
}> {
  get message(): string {
    return `the payment with order reference ${this.orderreference}${
      ref(this.reference)
    } had an unknown outcome (${this.after}) and looking it up failed too: ${this.lookupMessage}. Do not resend: look it up again later`
  }
}

/**
 * The connection's own errors, passed through unchanged.
 *
 * @since 0.1.0
 * @category errors
 */
export type TransportError = ConnectionError.RequestError

/**
 * The gateway answered, but not with a usable response.
 *
 * @since 0.1.0
 * @category errors
 */
export type ResponseError = HttpStatusError | MalformedResponse | ReferenceMismatch

/**
 * The gateway answered with a non-zero errorcode.
 *
 * @since 0.1.0
 * @category errors
 */
export type ErrorCodeError = InvalidField | Unauthenticated | UpstreamUnavailable | GatewayFailure

/**
 * Everything a gateway call can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type GatewayError = InvalidRequest | TransportError | ResponseError | ErrorCodeError

/**
 * What `authOrLookup` can fail with: never an outcome-unknown error, which it has resolved into a
 * result, `PaymentNotFound` or `LookupFailed`.
 *
 * @since 0.1.0
 * @category errors
 */
export type AuthOrLookupError =
  | InvalidRequest
  | ConnectionError.NotSent
  | ConnectionError.Refused
  | HttpStatusError
  | ErrorCodeError
  | PaymentNotFound
  | LookupFailed

/**
 * Whether the request may have been acted on although no usable answer came back: the request
 * must not be resent before the transaction is looked up.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isOutcomeUnknown = (
  error: GatewayError
): error is ConnectionError.OutcomeUnknown | MalformedResponse | ReferenceMismatch | HttpStatusError =>
  error._tag === "OutcomeUnknown" || error._tag === "MalformedResponse" || error._tag === "ReferenceMismatch" ||
  (error._tag === "HttpStatusError" && error.status >= 500)

/** @internal */
export const safeGatewayText = safeText
