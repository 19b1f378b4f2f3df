/**
 * The request types of the Secure Trading JSON API this client models: AUTH, ACCOUNTCHECK, REFUND,
 * TRANSACTIONQUERY, TRANSACTIONUPDATE, THREEDQUERY, RISKDEC and SUBSCRIPTION, and the documented
 * chains of them in one request item (ACCOUNTCHECK+AUTH, THREEDQUERY+AUTH, RISKDEC+AUTH,
 * AUTH+SUBSCRIPTION, ACCOUNTCHECK+SUBSCRIPTION).
 *
 * Every field the API documents for a modelled type is typed. A field the model lacks goes in
 * `extraFields` (written to the wire as it is); any other unknown property fails to encode with an
 * error naming it, so nothing is ever dropped silently. Card fields (`pan`, `expirydate`, `securitycode`) are
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
 * The filter fields of TRANSACTIONQUERY and TRANSACTIONUPDATE.
 *
 * @since 0.1.0
 * @category models
 */
export const FILTER_FIELDS = [
  "sitereference",
  "transactionreference",
  "parenttransactionreference",
  "orderreference",
  "requesttypedescription",
  "accounttypedescription",
  "paymenttypedescription",
  "currencyiso3a",
  "errorcode",
  "settlestatus",
  "starttimestamp",
  "endtimestamp"
] as const

/**
 * The filter of TRANSACTIONQUERY and TRANSACTIONUPDATE, in its wire shape. (`GatewayClient` takes
 * plain values, `PlainFilter`, and writes this shape itself.) Timestamps are "YYYY-MM-DD HH:MM:SS" (UTC).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Filter = Schema.Struct(
  Object.fromEntries(FILTER_FIELDS.map((f) => [f, optional(FilterValues)])) as {
    readonly [K in typeof FILTER_FIELDS[number]]: Schema.optionalWith<typeof FilterValues, { exact: true }>
  }
)

/**
 * @since 0.1.0
 * @category models
 */
export interface Filter extends Schema.Schema.Type<typeof Filter> {}

/**
 * A filter with plain values: one value, several (any of them matches), or a `Date` for the
 * timestamps. `{ orderreference: "order-1", starttimestamp: new Date(...) }`.
 *
 * @since 0.1.0
 * @category models
 */
export type PlainFilter = {
  readonly [K in typeof FILTER_FIELDS[number]]?: string | Date | ReadonlyArray<string> | undefined
}

/**
 * The escape hatch for fields this model lacks: written into the request item verbatim. A name
 * the model types (e.g. `pan`) is refused here: use the typed field, so card data stays `Redacted`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ExtraFields = Schema.Record({ key: Schema.String, value: Schema.Unknown })

const str = optional(Schema.String)
const names = <const N extends ReadonlyArray<string>>(list: N) =>
  Object.fromEntries(list.map((n) => [n, str])) as { readonly [K in N[number]]: typeof str }

/**
 * The billing (cardholder) fields.
 *
 * @since 0.1.0
 * @category models
 */
export const BILLING_FIELDS = [
  "billingprefixname",
  "billingfirstname",
  "billingmiddlename",
  "billinglastname",
  "billingsuffixname",
  "billingpremise",
  "billingstreet",
  "billingtown",
  "billingcounty",
  "billingpostcode",
  "billingcountryiso2a",
  "billingemail",
  "billingtelephone",
  "billingtelephonetype",
  "billingdob"
] as const

/**
 * The customer (delivery) fields.
 *
 * @since 0.1.0
 * @category models
 */
export const CUSTOMER_FIELDS = [
  "customerprefixname",
  "customerfirstname",
  "customermiddlename",
  "customerlastname",
  "customersuffixname",
  "customerpremise",
  "customerstreet",
  "customertown",
  "customercounty",
  "customerpostcode",
  "customercountryiso2a",
  "customeremail",
  "customertelephone",
  "customertelephonetype",
  "customerip",
  "customershippingmethod"
] as const

/**
 * The 3-D Secure fields an AUTH carries after authentication (and THREEDQUERY answers).
 *
 * @since 0.1.0
 * @category models
 */
export const THREED_FIELDS = [
  "threedresponse",
  "threedversion",
  "enrolled",
  "status",
  "cavv",
  "eci",
  "xid",
  "md",
  "pares",
  "directorytransactionid"
] as const

/**
 * The subscription fields (SUBSCRIPTION and the chains ending in it).
 *
 * @since 0.1.0
 * @category models
 */
export const SUBSCRIPTION_FIELDS = [
  "subscriptiontype",
  "subscriptionunit",
  "subscriptionfrequency",
  "subscriptionnumber",
  "subscriptionfinalnumber",
  "subscriptionbegindate"
] as const

/**
 * Merchant-side fields of a payment.
 *
 * @since 0.1.0
 * @category models
 */
export const MERCHANT_FIELDS = [
  "orderreference",
  "chargedescription",
  "operatorname",
  "merchantemail",
  "paymenttypedescription",
  "customfield1",
  "customfield2",
  "customfield3",
  "customfield4",
  "customfield5"
] as const

const cardFields = {
  pan: optional(CardField),
  expirydate: optional(CardField),
  securitycode: optional(CardField)
}

const paymentFields = {
  sitereference: Schema.String,
  baseamount: BaseAmount,
  currencyiso3a: CurrencyIso3a,
  accounttypedescription: AccountTypeDescription,
  ...cardFields,
  ...names(MERCHANT_FIELDS),
  ...names(BILLING_FIELDS),
  ...names(CUSTOMER_FIELDS),
  /** "0" none, "1" stores the card for later use, "2" uses a stored card (with `parenttransactionreference`). */
  credentialsonfile: str,
  /** The earlier transaction a card-on-file or merchant-initiated payment refers to. */
  parenttransactionreference: str,
  /** Why a merchant-initiated payment is made (e.g. "C" unscheduled, "X" no-show). */
  initiationreason: str,
  /** "0" settle automatically, "1" settle after manual checks, "2" suspended (settle later), "3" cancelled. */
  settlestatus: str,
  /** "YYYY-MM-DD": the day to settle on. */
  settleduedate: str,
  /** "PRE" or "FINAL". */
  authmethod: str,
  /** A token from the JavaScript library instead of card fields. */
  cachetoken: optional(CardField),
  extraFields: optional(ExtraFields)
}

const authFields = { ...paymentFields, ...names(THREED_FIELDS) }

/**
 * Every field AUTH documents and this model types (for the conformance test that nothing is dropped).
 *
 * @since 0.1.0
 * @category models
 */
export const AUTH_FIELDS: ReadonlyArray<string> = Object.keys(authFields).filter((k) => k !== "extraFields")

/**
 * AUTH: authorise a payment. Moves money: never sent twice by accident.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Auth = Schema.Struct({
  requesttypedescriptions: Schema.Tuple(Schema.Literal("AUTH")),
  ...authFields
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
 * THREEDQUERY: ask whether the card is enrolled in 3-D Secure; an enrolled card answers with the
 * ACS URL and payload the customer's browser completes.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThreeDQuery = Schema.Struct({
  requesttypedescriptions: Schema.Tuple(Schema.Literal("THREEDQUERY")),
  ...paymentFields,
  /** Where the ACS returns the customer. */
  termurl: str
})

/**
 * @since 0.1.0
 * @category models
 */
export interface ThreeDQuery extends Schema.Schema.Type<typeof ThreeDQuery> {}

/**
 * RISKDEC: a fraud-risk decision on the payment's details.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RiskDec = Schema.Struct({
  requesttypedescriptions: Schema.Tuple(Schema.Literal("RISKDEC")),
  ...paymentFields
})

/**
 * @since 0.1.0
 * @category models
 */
export interface RiskDec extends Schema.Schema.Type<typeof RiskDec> {}

/**
 * SUBSCRIPTION: schedule repeat payments of an authorised parent (account type "RECUR").
 *
 * @since 0.1.0
 * @category schemas
 */
export const Subscription = Schema.Struct({
  requesttypedescriptions: Schema.Tuple(Schema.Literal("SUBSCRIPTION")),
  sitereference: Schema.String,
  parenttransactionreference: Schema.String,
  baseamount: optional(BaseAmount),
  currencyiso3a: optional(CurrencyIso3a),
  accounttypedescription: optional(AccountTypeDescription),
  orderreference: str,
  ...names(SUBSCRIPTION_FIELDS),
  extraFields: optional(ExtraFields)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Subscription extends Schema.Schema.Type<typeof Subscription> {}

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
  /** Omitted: the whole remaining amount. */
  baseamount: optional(BaseAmount),
  currencyiso3a: optional(CurrencyIso3a),
  orderreference: str,
  chargedescription: str,
  operatorname: str,
  extraFields: optional(ExtraFields)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Refund extends Schema.Schema.Type<typeof Refund> {}

/**
 * TRANSACTIONQUERY: find transactions by a filter (at least one beyond the site reference).
 *
 * @since 0.1.0
 * @category schemas
 */
export const TransactionQuery = Schema.Struct({
  requesttypedescriptions: Schema.Tuple(Schema.Literal("TRANSACTIONQUERY")),
  filter: Filter,
  extraFields: optional(ExtraFields)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface TransactionQuery extends Schema.Schema.Type<typeof TransactionQuery> {}

/**
 * TRANSACTIONUPDATE: change a transaction while its settlestatus is 0, 1 or 2 (e.g. `settlestatus`
 * "3" cancels it, "2" suspends it; `settlebaseamount` settles less than authorised).
 *
 * @since 0.1.0
 * @category schemas
 */
export const TransactionUpdate = Schema.Struct({
  requesttypedescriptions: Schema.Tuple(Schema.Literal("TRANSACTIONUPDATE")),
  filter: Filter,
  updates: Schema.Struct({
    settlestatus: str,
    settleduedate: str,
    settlebaseamount: optional(BaseAmount),
    /** @deprecated the API's name is `settlebaseamount`; written to the wire as `settlebaseamount`. */
    baseamount: optional(BaseAmount),
    orderreference: str
  }),
  extraFields: optional(ExtraFields)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface TransactionUpdate extends Schema.Schema.Type<typeof TransactionUpdate> {}

/**
 * The documented chains: several request types processed in order in one request item, one
 * response item per processed type.
 *
 * @since 0.1.0
 * @category models
 */
export const CHAINS = [
  ["ACCOUNTCHECK", "AUTH"],
  ["THREEDQUERY", "AUTH"],
  ["RISKDEC", "AUTH"],
  ["AUTH", "SUBSCRIPTION"],
  ["ACCOUNTCHECK", "SUBSCRIPTION"]
] as const

/**
 * @since 0.1.0
 * @category models
 */
export type ChainTypes = typeof CHAINS[number]

/**
 * A chained request: the fields of every type in it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Chain = Schema.Struct({
  requesttypedescriptions: Schema.Union(
    ...CHAINS.map(([a, b]) => Schema.Tuple(Schema.Literal(a), Schema.Literal(b)))
  ),
  ...authFields,
  termurl: str,
  ...names(SUBSCRIPTION_FIELDS)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Chain extends Schema.Schema.Type<typeof Chain> {}

/**
 * Any one request of an envelope.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Request = Schema.Union(
  Auth,
  AccountCheck,
  Refund,
  TransactionQuery,
  TransactionUpdate,
  ThreeDQuery,
  RiskDec,
  Subscription,
  Chain
)

/**
 * @since 0.1.0
 * @category models
 */
export type Request =
  | Auth
  | AccountCheck
  | Refund
  | TransactionQuery
  | TransactionUpdate
  | ThreeDQuery
  | RiskDec
  | Subscription
  | Chain

/**
 * The request type names.
 *
 * @since 0.1.0
 * @category models
 */
export type RequestType = Request["requesttypedescriptions"][number]

/**
 * The schema of one request by its types (`"AUTH"`, `"THREEDQUERY+AUTH"`, ...).
 *
 * @since 0.1.0
 * @category schemas
 */
export const schemaFor = (types: ReadonlyArray<string>): Schema.Schema.AnyNoContext | undefined => {
  const key = types.join("+")
  const single: Record<string, Schema.Schema.AnyNoContext> = {
    AUTH: Auth,
    ACCOUNTCHECK: AccountCheck,
    REFUND: Refund,
    TRANSACTIONQUERY: TransactionQuery,
    TRANSACTIONUPDATE: TransactionUpdate,
    THREEDQUERY: ThreeDQuery,
    RISKDEC: RiskDec,
    SUBSCRIPTION: Subscription
  }
  if (key in single) return single[key]
  return CHAINS.some((c) => c.join("+") === key) ? Chain : undefined
}

/**
 * Every field name the model types, across all request types: what an `InvalidField` may name.
 *
 * @since 0.1.0
 * @category models
 */
export const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  ...AUTH_FIELDS,
  ...SUBSCRIPTION_FIELDS,
  ...FILTER_FIELDS,
  "requesttypedescriptions",
  "termurl",
  "filter",
  "updates",
  "settlebaseamount",
  "alias",
  "version",
  "request",
  "requestreference"
])

/**
 * A filter on one field: `{"orderreference": [{"value": "order-1"}]}`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const filterValue = (value: string): ReadonlyArray<{ readonly value: string }> => [{ value }]

const pad = (n: number) => String(n).padStart(2, "0")

/**
 * A timestamp as the gateway writes it: "YYYY-MM-DD HH:MM:SS", UTC.
 *
 * @since 0.1.0
 * @category constructors
 */
export const formatTimestamp = (d: Date): string =>
  `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${
    pad(d.getUTCMinutes())
  }:${pad(d.getUTCSeconds())}`

/**
 * Writes a plain filter in the wire shape (each value as `[{"value": ...}]`, dates formatted).
 *
 * @since 0.1.0
 * @category constructors
 */
export const toFilter = (plain: PlainFilter | Filter): Filter => {
  const out: Record<string, ReadonlyArray<{ readonly value: string }>> = {}
  for (const [k, v] of Object.entries(plain)) {
    if (v === undefined) continue
    if (typeof v === "string") out[k] = filterValue(v)
    else if (v instanceof Date) out[k] = filterValue(formatTimestamp(v))
    else {
      out[k] = (v as ReadonlyArray<string | { readonly value: string }>).map((x) =>
        typeof x === "string" ? { value: x } : x
      )
    }
  }
  return out as Filter
}
