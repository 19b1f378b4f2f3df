/**
 * The gateway's responses. Only the fields the client acts on are named; every other field the
 * gateway sends is kept (the response type has an index signature), so nothing is lost when the
 * gateway adds fields.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

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
  maskedpan: optional(Schema.String)
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
 * The web-services user or password was not accepted.
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
