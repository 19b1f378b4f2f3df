/**
 * The request types of the Secure Trading JSON API this client models: AUTH, ACCOUNTCHECK, REFUND,
 * TRANSACTIONQUERY and TRANSACTIONUPDATE. Card fields (`pan`, `expirydate`, `securitycode`) are
 * `Redacted` in memory: printing, logging or `JSON.stringify`-ing a request shows `<redacted>`; the
 * real values are revealed only when the request is encoded into the wire JSON.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A card field: the wire form is a string, the in-memory form is `Redacted<string>`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CardField: Schema.Redacted<typeof Schema.String> = Schema.Redacted(Schema.String)

/**
 * An amount in the currency's minor unit ("1050" is 10.50 GBP), as the gateway writes it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BaseAmount = Schema.String.pipe(
  Schema.pattern(/^\d{1,13}$/, { message: () => "baseamount must be a whole number of minor units, e.g. \"1050\"" })
)

/**
 * @since 0.1.0
 * @category schemas
 */
export const CurrencyIso3a = Schema.String.pipe(
  Schema.pattern(/^[A-Z]{3}$/, { message: () => "currencyiso3a must be three capital letters, e.g. \"GBP\"" })
)

/**
 * `ECOM` (e-commerce), `MOTO` (mail/telephone order), `RECUR` (recurring), ...
 *
 * @since 0.1.0
 * @category schemas
 */
export const AccountTypeDescription = Schema.String

const optional = <S extends Schema.Schema.Any>(s: S) => Schema.optionalWith(s, { exact: true })

/**
 * One filter value, as TRANSACTIONQUERY and TRANSACTIONUPDATE write it: `[{"value": "..."}]`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FilterValues = Schema.Array(Schema.Struct({ value: Schema.String }))

/**
 * The filter of TRANSACTIONQUERY and TRANSACTIONUPDATE.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Filter = Schema.Struct({
  sitereference: optional(FilterValues),
  transactionreference: optional(FilterValues),
  orderreference: optional(FilterValues),
  requesttypedescription: optional(FilterValues),
  currencyiso3a: optional(FilterValues),
  errorcode: optional(FilterValues),
  starttimestamp: optional(FilterValues),
  endtimestamp: optional(FilterValues)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Filter extends Schema.Schema.Type<typeof Filter> {}

const cardFields = {
  pan: CardField,
  expirydate: CardField,
  securitycode: optional(CardField)
}

const paymentFields = {
  sitereference: Schema.String,
  baseamount: BaseAmount,
  currencyiso3a: CurrencyIso3a,
  accounttypedescription: AccountTypeDescription,
  orderreference: optional(Schema.String),
  ...cardFields
}

/**
 * AUTH: authorise a payment. Moves money: never sent twice by accident.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Auth = Schema.Struct({
  requesttypedescriptions: Schema.Tuple(Schema.Literal("AUTH")),
  ...paymentFields,
  billingfirstname: optional(Schema.String),
  billinglastname: optional(Schema.String),
  billingemail: optional(Schema.String),
  billingpostcode: optional(Schema.String),
  customerip: optional(Schema.String),
  settlestatus: optional(Schema.String),
  settleduedate: optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Auth extends Schema.Schema.Type<typeof Auth> {}

/**
 * ACCOUNTCHECK: check a card without taking money.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AccountCheck = Schema.Struct({
  requesttypedescriptions: Schema.Tuple(Schema.Literal("ACCOUNTCHECK")),
  ...paymentFields
})

/**
 * @since 0.1.0
 * @category models
 */
export interface AccountCheck extends Schema.Schema.Type<typeof AccountCheck> {}

/**
 * REFUND: refund (part of) a settled AUTH, named by its transaction reference.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Refund = Schema.Struct({
  requesttypedescriptions: Schema.Tuple(Schema.Literal("REFUND")),
  sitereference: Schema.String,
  parenttransactionreference: Schema.String,
  baseamount: optional(BaseAmount),
  orderreference: optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Refund extends Schema.Schema.Type<typeof Refund> {}

/**
 * TRANSACTIONQUERY: find transactions by a filter (transaction or order reference, ...).
 *
 * @since 0.1.0
 * @category schemas
 */
export const TransactionQuery = Schema.Struct({
  requesttypedescriptions: Schema.Tuple(Schema.Literal("TRANSACTIONQUERY")),
  filter: Filter
})

/**
 * @since 0.1.0
 * @category models
 */
export interface TransactionQuery extends Schema.Schema.Type<typeof TransactionQuery> {}

/**
 * TRANSACTIONUPDATE: change a transaction (e.g. `settlestatus` "3" suspends settlement).
 *
 * @since 0.1.0
 * @category schemas
 */
export const TransactionUpdate = Schema.Struct({
  requesttypedescriptions: Schema.Tuple(Schema.Literal("TRANSACTIONUPDATE")),
  filter: Filter,
  updates: Schema.Struct({
    settlestatus: optional(Schema.String),
    settleduedate: optional(Schema.String),
    baseamount: optional(BaseAmount)
  })
})

/**
 * @since 0.1.0
 * @category models
 */
export interface TransactionUpdate extends Schema.Schema.Type<typeof TransactionUpdate> {}

/**
 * Any one request of an envelope.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Request = Schema.Union(Auth, AccountCheck, Refund, TransactionQuery, TransactionUpdate)

/**
 * @since 0.1.0
 * @category models
 */
export type Request = Auth | AccountCheck | Refund | TransactionQuery | TransactionUpdate

/**
 * The request type names.
 *
 * @since 0.1.0
 * @category models
 */
export type RequestType = Request["requesttypedescriptions"][0]

/**
 * A filter on one field: `{"orderreference": [{"value": "order-1"}]}`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const filterValue = (value: string): ReadonlyArray<{ readonly value: string }> => [{ value }]
