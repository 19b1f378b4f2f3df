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
import * as Redact from "@stpp/connect/Redact"
import * as Data from "effect/Data"

const MAX_TEXT = 200

/**
 * Text the gateway sent back, made safe: masked first by `Redact.string` (so a card number split
 * by the cut cannot survive as a shorter run of digits), then cut to 200 characters (L1).
 */
const safeText = (text: string): string => {
  const masked = Redact.string(text)
  return masked.length > MAX_TEXT ? masked.slice(0, MAX_TEXT - 1) + "…" : masked
}

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
 * errorcode 30000: the gateway rejected a field. Only field names the API documents are kept:
 * `errordata` is the gateway's free text and could echo a value (a card number, an expiry date),
 * so anything else in it is never repeated.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidField extends Data.TaggedError("InvalidField")<{
  readonly code: string
  /** The documented field names from `errordata`, joined by ", "; "unknown" when none was a known name. */
  readonly field: string
  /** The documented field names the gateway named (empty when it named none the client knows). */
  readonly fields?: ReadonlyArray<string> | undefined
  readonly requestType: string | undefined
  readonly reference: string
}> {
  get message(): string {
    const what = this.field === "unknown" ? "a field" : `the field "${this.field}"`
    const hidden = this.field === "unknown" ? " (the gateway's errordata is not repeated: it may hold a value)" : ""
    return `the gateway rejected ${what} of the ${this.requestType ?? "request"}${
      ref(this.reference)
    } (errorcode ${this.code})${hidden}: fix the value and send again`
  }
}

/**
 * The web-services user or password was not accepted: HTTP 401 with an HTML page (how the gateway
 * answers bad Basic-auth credentials; nothing was processed) or errorcode 60022.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthenticated extends Data.TaggedError("Unauthenticated")<{
  /** "60022", or "401" for the HTTP status. */
  readonly code: string
  readonly username: string
  readonly reference: string
  /** Where the credentials came from: `Config` (STPP_USERNAME / STPP_PASSWORD) or code. */
  readonly credentialsFrom?: "config" | "code" | undefined
  /** The variables the credentials were read from, when read through `Config` under a prefix. */
  readonly variables?: { readonly username: string; readonly password: string } | undefined
  /** 401 when the gateway answered with an HTTP status rather than an errorcode. */
  readonly httpStatus?: number | undefined
}> {
  get message(): string {
    const how = this.httpStatus === undefined ? `errorcode ${this.code}` : `HTTP ${this.httpStatus}`
    const fix = this.credentialsFrom === "code"
      ? "check the username and password given in code (GatewayClient.layer / make)"
      : `check ${this.variables?.username ?? "STPP_USERNAME"} and ${this.variables?.password ?? "STPP_PASSWORD"}`
    return `the gateway did not accept the web-services user "${this.username}"${
      ref(this.reference)
    } (${how}; nothing was processed): ${fix}`
  }
}

/**
 * errorcodes 60010, 60034 and 99999: "the final status is not known" (a communication problem
 * between the gateway and a bank or third party). For a payment this is an unknown outcome exactly
 * like a reset after sending: never resend it; look it up (`authOrLookup` does), and if the lookup
 * still shows the unknown status, contact the gateway's support with the request reference.
 *
 * @since 0.1.0
 * @category errors
 */
export class FinalStatusUnknown extends Data.TaggedError("FinalStatusUnknown")<{
  readonly code: string
  /** The gateway's message, masked and cut. */
  readonly errormessage: string
  readonly requestType: string | undefined
  readonly reference: string
  readonly transactionreference: string | undefined
}> {
  get message(): string {
    return `the gateway answered errorcode ${this.code} ("${this.errormessage}") to the ${
      this.requestType ?? "request"
    }${
      ref(this.reference)
    }: the final status is not known; do not resend: look the transaction up, and if it is still unknown contact the gateway's support with reference ${this.reference}`
  }
}

/**
 * errorcode 10205: the gateway could not parse the request's JSON. Nothing was processed.
 *
 * @since 0.1.0
 * @category errors
 */
export class MalformedRequest extends Data.TaggedError("MalformedRequest")<{
  readonly code: string
  readonly reference: string
}> {
  get message(): string {
    return `the gateway could not parse the request${
      ref(this.reference)
    } as JSON (errorcode ${this.code}); nothing was processed: send UTF-8 JSON`
  }
}

/**
 * A request the gateway refused for its kind, its filter or its target, with the documented
 * meaning of the code. Nothing was processed. `reason`:
 * - `invalid-request-type` (60018): the request type, or the chain of types, is not one the gateway knows;
 * - `no-searchable-filter` (60019): a TRANSACTIONQUERY/UPDATE needs a filter beyond the site reference;
 * - `not-updatable` (60017): the transaction can no longer be updated (settled or cancelled);
 * - `no-valid-updates` (60013), `not-found` (60014), `settle-amount-too-large` (60016);
 * - `missing-parent` (20004), `refund-needs-settled-parent` (20005, 20012), `refund-needs-auth-parent` (20006),
 *   `refund-amount-too-great` (20007), `refund-of-decline` (20011), `amount-override` (20014),
 *   `currency-override` (20015), and the other 20004-20040 parent rules as `parent-rule`.
 *
 * @since 0.1.0
 * @category errors
 */
export class RequestRejected extends Data.TaggedError("RequestRejected")<{
  readonly code: string
  readonly reason: RejectionReason
  /** The documented meaning of the code. */
  readonly meaning: string
  readonly requestType: string | undefined
  readonly reference: string
}> {
  get message(): string {
    return `the gateway rejected the ${this.requestType ?? "request"}${
      ref(this.reference)
    } with errorcode ${this.code} (${this.meaning}); nothing was processed`
  }
}

/**
 * Why a request was rejected (see {@link RequestRejected}).
 *
 * @since 0.1.0
 * @category errors
 */
export type RejectionReason =
  | "invalid-request-type"
  | "no-searchable-filter"
  | "not-updatable"
  | "no-valid-updates"
  | "not-found"
  | "settle-amount-too-large"
  | "missing-parent"
  | "refund-needs-settled-parent"
  | "refund-needs-auth-parent"
  | "refund-amount-too-great"
  | "refund-of-decline"
  | "amount-override"
  | "currency-override"
  | "parent-rule"

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
  /** The gateway's own message, masked (anything like a card number removed), then cut to 200 characters. */
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
 * The payment's outcome was unknown (errorcode 60010, 60034 or 99999, or no usable answer) and the
 * lookup found the transaction still in that unknown state: only the gateway's support can say
 * what happened. Do not resend; contact support with the request reference.
 *
 * @since 0.1.0
 * @category errors
 */
export class ContactSupport extends Data.TaggedError("ContactSupport")<{
  readonly orderreference: string
  /** The request reference of the payment: what support needs. */
  readonly reference: string | undefined
  /** The errorcode the transaction still shows. */
  readonly code: string
  readonly transactionreference: string | undefined
  /** The tag of the error that made the outcome unknown. */
  readonly after: string
}> {
  get message(): string {
    return `the payment with order reference ${this.orderreference}${
      ref(this.reference)
    } still shows errorcode ${this.code} (the final status is not known)${
      this.transactionreference === undefined ? "" : ` as transaction ${this.transactionreference}`
    }: do not resend; contact the gateway's support with request reference ${this.reference ?? "(none)"}`
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
export type ErrorCodeError =
  | InvalidField
  | Unauthenticated
  | UpstreamUnavailable
  | FinalStatusUnknown
  | MalformedRequest
  | RequestRejected
  | GatewayFailure

/**
 * The errorcode errors `authOrLookup` can still fail with (`FinalStatusUnknown` it resolves).
 *
 * @since 0.1.0
 * @category errors
 */
export type AnsweredError = Exclude<ErrorCodeError, FinalStatusUnknown>

/**
 * Everything a gateway call can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type GatewayError = InvalidRequest | TransportError | ResponseError | ErrorCodeError

/**
 * What `authOrLookup` can fail with: never an outcome-unknown error, which it has resolved into a
 * result, `PaymentNotFound`, `ContactSupport` or `LookupFailed`.
 *
 * @since 0.1.0
 * @category errors
 */
export type AuthOrLookupError =
  | InvalidRequest
  | ConnectionError.NotSent
  | ConnectionError.Refused
  | HttpStatusError
  | AnsweredError
  | PaymentNotFound
  | ContactSupport
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
): error is
  | ConnectionError.OutcomeUnknown
  | MalformedResponse
  | ReferenceMismatch
  | HttpStatusError
  | FinalStatusUnknown =>
  error._tag === "OutcomeUnknown" || error._tag === "MalformedResponse" || error._tag === "ReferenceMismatch" ||
  error._tag === "FinalStatusUnknown" || (error._tag === "HttpStatusError" && error.status >= 500)

/** @internal */
export const safeGatewayText = safeText
