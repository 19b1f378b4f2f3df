/**
 * The gateway's responses. Only the fields the client acts on are named; every other field the
 * gateway sends is kept (the response type has an index signature), so nothing is lost when the
 * gateway adds fields.
 *
 * @since 0.1.0
 */
import type * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as SchemaFast from "./internal/schemaFast.js"

const optional = <S extends Schema.Schema.Any>(s: S) => Schema.optionalWith(s, { exact: true })

const Rest = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * One transaction as TRANSACTIONQUERY returns it in `records`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TransactionRecord = Schema.Struct({
  transactionreference: optional(Schema.String),
  orderreference: optional(Schema.String),
  requesttypedescription: optional(Schema.String),
  errorcode: optional(Schema.String),
  settlestatus: optional(Schema.String),
  baseamount: optional(Schema.String),
  currencyiso3a: optional(Schema.String),
  maskedpan: optional(Schema.String),
  parenttransactionreference: optional(Schema.String),
  transactionstartedtimestamp: optional(Schema.String),
  settleduedate: optional(Schema.String),
  authcode: optional(Schema.String),
  acquirerresponsecode: optional(Schema.String)
}, Rest)

/**
 * @since 0.1.0
 * @category models
 */
export type TransactionRecord = Schema.Schema.Type<typeof TransactionRecord>

/**
 * One item of the response array: `errorcode` "0" is success; the rest are the gateway's codes.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseItem = Schema.Struct({
  errorcode: Schema.String,
  errormessage: optional(Schema.String),
  /** For 30000 (invalid field): the field names. */
  errordata: optional(Schema.Array(Schema.String)),
  requesttypedescription: optional(Schema.String),
  transactionreference: optional(Schema.String),
  orderreference: optional(Schema.String),
  settlestatus: optional(Schema.String),
  authcode: optional(Schema.String),
  acquirerresponsecode: optional(Schema.String),
  maskedpan: optional(Schema.String),
  baseamount: optional(Schema.String),
  currencyiso3a: optional(Schema.String),
  livestatus: optional(Schema.String),
  /** The request reference, when the gateway echoes it into the item. */
  requestreference: optional(Schema.String),
  parenttransactionreference: optional(Schema.String),
  transactionstartedtimestamp: optional(Schema.String),
  settleduedate: optional(Schema.String),
  /** THREEDQUERY: "Y" enrolled (complete 3-D Secure at `acsurl`), "N" not enrolled, "U" unknown. */
  enrolled: optional(Schema.String),
  acsurl: optional(Schema.String),
  threedpayload: optional(Schema.String),
  md: optional(Schema.String),
  pareq: optional(Schema.String),
  threedversion: optional(Schema.String),
  /** RISKDEC: "ACCEPT", "DENY", "CHALLENGE" or "TMREVIEW". */
  fraudcontrolshieldstatuscode: optional(Schema.String),
  fraudcontrolresponsecode: optional(Schema.String),
  fraudcontrolreference: optional(Schema.String),
  /** SUBSCRIPTION. */
  subscriptionnumber: optional(Schema.String),
  /** TRANSACTIONQUERY: how many records matched. */
  found: optional(Schema.String),
  /** TRANSACTIONQUERY: the matching transactions. */
  records: optional(Schema.Array(TransactionRecord))
}, Rest)

/**
 * @since 0.1.0
 * @category models
 */
export type ResponseItem = Schema.Schema.Type<typeof ResponseItem>

/**
 * The response envelope: `{"requestreference", "version", "response": [...]}`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseEnvelope = Schema.Struct({
  requestreference: Schema.String,
  version: Schema.String,
  response: Schema.Array(ResponseItem)
}, Rest)

/**
 * @since 0.1.0
 * @category models
 */
export type ResponseEnvelope = Schema.Schema.Type<typeof ResponseEnvelope>

/**
 * The response envelope from its wire bytes' text.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseEnvelopeFromJson = Schema.parseJson(ResponseEnvelope)

/**
 * Decodes a parsed answer as a {@link ResponseEnvelope}: what `Schema.decodeUnknownEither` answers,
 * with a fast path for a value that already is one (the usual answer, on every payment's path: P1).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeEnvelope: (u: unknown) => Either.Either<ResponseEnvelope, ParseResult.ParseError> = SchemaFast
  .decoder(ResponseEnvelope)

/**
 * The first `requestreference` in the envelope or in one of its items that is not `reference`, the
 * one sent (G3): an answer to another request. `undefined` when every one that is there matches.
 *
 * @since 0.1.0
 * @category decoding
 */
export const foreignReference = (envelope: ResponseEnvelope, reference: string): string | undefined => {
  if (envelope.requestreference !== reference) return envelope.requestreference
  for (const item of envelope.response) {
    if (item.requestreference !== undefined && item.requestreference !== reference) return item.requestreference
  }
  return undefined
}

/**
 * Success.
 *
 * @since 0.1.0
 * @category codes
 */
export const OK = "0"

/**
 * A field was missing or invalid; `errordata` names it.
 *
 * @since 0.1.0
 * @category codes
 */
export const INVALID_FIELD = "30000"

/**
 * The web-services user or password was not accepted (in JSON; bad Basic-auth credentials are an
 * HTTP 401 page instead).
 *
 * @since 0.1.0
 * @category codes
 */
export const UNAUTHENTICATED = "60022"

/**
 * The bank declined.
 *
 * @since 0.1.0
 * @category codes
 */
export const DECLINE = "70000"

/**
 * A soft decline: the issuer wants Strong Customer Authentication; resubmit with 3-D Secure.
 *
 * @since 0.1.0
 * @category codes
 */
export const SOFT_DECLINE = "71000"

/**
 * Malformed JSON in the request.
 *
 * @since 0.1.0
 * @category codes
 */
export const MALFORMED_JSON = "10205"

/**
 * 60010 (bank system error), 60034 (manual investigation required), 99999 (unknown error): "the
 * final status is not known". For a payment: never resend; look it up; if still unknown, contact support.
 *
 * @since 0.1.0
 * @category codes
 */
export const FINAL_STATUS_UNKNOWN: ReadonlyArray<string> = ["60010", "60034", "99999"]

/**
 * Whether the code means "the final status is not known" (60010, 60034, 99999).
 *
 * @since 0.1.0
 * @category codes
 */
export const isFinalStatusUnknown = (code: string): boolean => FINAL_STATUS_UNKNOWN.includes(code)

/**
 * The documented meanings of the codes a request can be rejected with (nothing processed), by the
 * client's `RequestRejected.reason`.
 *
 * @since 0.1.0
 * @category codes
 */
export const REJECTIONS: Readonly<Record<string, { readonly reason: string; readonly meaning: string }>> = {
  "60018": { reason: "invalid-request-type", meaning: "invalid requesttype" },
  "60019": { reason: "no-searchable-filter", meaning: "no searchable filter specified" },
  "60017": { reason: "not-updatable", meaning: "transaction not updatable" },
  "60013": { reason: "no-valid-updates", meaning: "no valid updates specified" },
  "60014": { reason: "not-found", meaning: "transaction reference not found" },
  "60016": { reason: "settle-amount-too-large", meaning: "settlebaseamount too large" },
  "20004": { reason: "missing-parent", meaning: "missing parent" },
  "20005": {
    reason: "refund-needs-settled-parent",
    meaning: "refund requires a settled parent or one due to settle today"
  },
  "20006": { reason: "refund-needs-auth-parent", meaning: "refund requires an authorisation parent" },
  "20007": { reason: "refund-amount-too-great", meaning: "refund amount too great" },
  "20008": { reason: "parent-rule", meaning: "no acquirer specified" },
  "20009": { reason: "parent-rule", meaning: "repeat amount too great" },
  "20010": { reason: "parent-rule", meaning: "split amount too great" },
  "20011": { reason: "refund-of-decline", meaning: "cannot refund a declined transaction" },
  "20012": { reason: "refund-needs-settled-parent", meaning: "refund requires a settled parent" },
  "20013": { reason: "parent-rule", meaning: "reversal requires a cancelled AUTH parent" },
  "20014": { reason: "amount-override", meaning: "cannot override the amount in a child transaction" },
  "20015": { reason: "currency-override", meaning: "cannot override the currency in a child transaction" },
  "20018": { reason: "parent-rule", meaning: "subscription requires a RECUR account" },
  "20019": { reason: "parent-rule", meaning: "subscription requires a successful parent" },
  "20020": { reason: "parent-rule", meaning: "risk decisions must have AUTH as parent" },
  "20033": { reason: "parent-rule", meaning: "invalid parent" }
}

/**
 * 50000-50014 and 60020: the gateway could not reach an upstream (acquirer, bank, ...).
 *
 * @since 0.1.0
 * @category codes
 */
export const isUpstreamCode = (code: string): boolean => {
  if (code === "60020") return true
  if (!/^\d+$/.test(code)) return false
  const n = Number(code)
  return n >= 50000 && n <= 50014
}
