/**
 * The simulated gateway's JSON API: validation, test-card and test-amount rules, request chains,
 * the transaction store, settlement and the answers, as the vendor documents them. Pure apart from
 * the store; the server feeds it parsed envelopes and the time (from its `Clock`).
 *
 * @internal
 */

/** @internal */
export interface Transaction {
  readonly transactionreference: string
  readonly parenttransactionreference?: string | undefined
  readonly orderreference?: string | undefined
  readonly requesttypedescription: string
  readonly sitereference: string
  readonly baseamount: string
  readonly currencyiso3a: string
  /** First 6 and last 4 digits only: the simulator never keeps a card number. */
  readonly maskedpan?: string | undefined
  readonly errorcode: string
  readonly errormessage: string
  settlestatus: string
  readonly authcode?: string | undefined
  readonly acquirerresponsecode?: string | undefined
  readonly accounttypedescription?: string | undefined
  readonly transactionstartedtimestamp: string
  /** "YYYY-MM-DD": settled at the first settlement run after this day (midnight UTC). */
  settleduedate?: string | undefined
  settlebaseamount?: string | undefined
  readonly enrolled?: string | undefined
  readonly fraudcontrolshieldstatuscode?: string | undefined
  readonly subscriptionnumber?: string | undefined
  readonly subscriptiontype?: string | undefined
  readonly subscriptionunit?: string | undefined
  readonly subscriptionfrequency?: string | undefined
  readonly subscriptionfinalnumber?: string | undefined
  /** The gateway address that processed it. */
  readonly address: string
  readonly requestreference: string
}

/** Cards that are authorised. */
export const ACCEPTED_CARDS: ReadonlySet<string> = new Set([
  "4111111111111111",
  "4242424242424242",
  "5555555555554444",
  "5105105105105100",
  "378282246310005",
  "371449635398431",
  "6011111111111117"
])

/** Cards that are declined (70000); any other valid card number is declined too. */
export const DECLINED_CARDS: ReadonlySet<string> = new Set(["4000000000000002"])

/** Cards enrolled in 3-D Secure: a THREEDQUERY answers `enrolled` "Y" with an ACS URL (the test bank's challenge cards). */
export const ENROLLED_CARDS: ReadonlySet<string> = new Set(["4000000000001091", "5200000000001096"])

/** The test bank's amounts (minor units): 70000 always declines; 60010 always gives the bank-system error. */
export const DECLINE_AMOUNT = "70000"
/** @internal */
export const BANK_ERROR_AMOUNT = "60010"

/** The documented chains. */
export const CHAINS: ReadonlyArray<string> = [
  "ACCOUNTCHECK+AUTH",
  "THREEDQUERY+AUTH",
  "RISKDEC+AUTH",
  "AUTH+SUBSCRIPTION",
  "ACCOUNTCHECK+SUBSCRIPTION"
]
const SINGLE_TYPES: ReadonlyArray<string> = [
  "AUTH",
  "ACCOUNTCHECK",
  "REFUND",
  "TRANSACTIONQUERY",
  "TRANSACTIONUPDATE",
  "THREEDQUERY",
  "RISKDEC",
  "SUBSCRIPTION"
]

/** @internal */
export const luhn = (digits: string): boolean => {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

/** @internal */
export const maskPan = (pan: string): string =>
  pan.length <= 10 ? "#".repeat(pan.length) : pan.slice(0, 6) + "#".repeat(pan.length - 10) + pan.slice(-4)

type Json = Record<string, unknown>

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)
const str = (u: unknown): string | undefined => typeof u === "string" ? u : undefined

/** @internal */
export interface Store {
  readonly transactions: Array<Transaction>
  next: number
}

/** @internal */
export interface Context {
  readonly address: string
  readonly requestreference: string
  readonly now: Date
  readonly sitereference: string | undefined
}

/** "YYYY-MM-DD HH:MM:SS", UTC, as the gateway writes timestamps. */
export const timestamp = (d: Date): string => d.toISOString().replace("T", " ").slice(0, 19)
const day = (d: Date): string => d.toISOString().slice(0, 10)

const error = (
  ctx: Context,
  requesttypedescription: string | undefined,
  errorcode: string,
  errormessage: string,
  errordata: Array<string> = []
): Json => ({
  requesttypedescription: requesttypedescription ?? "ERROR",
  transactionstartedtimestamp: timestamp(ctx.now),
  errorcode,
  errormessage,
  errordata
})

const invalid = (ctx: Context, type: string, fields: Array<string>): Json =>
  error(ctx, type, "30000", "Invalid field", fields)

const newReference = (store: Store, ctx: Context): string => {
  store.next += 1
  const node = Number(ctx.address.split(".").pop() ?? "0")
  return `${node}-9-${store.next}`
}

const toRecord = (t: Transaction): Json => {
  const out: Json = {}
  for (const [k, v] of Object.entries(t)) {
    if (v !== undefined && k !== "address" && k !== "requestreference") out[k] = v
  }
  return out
}

/**
 * Settlement, advanced to `now`: an authorised AUTH or REFUND pending settlement (settlestatus 0
 * or 1) is settled (100) by the run at midnight UTC after its settleduedate. Suspended (2) and
 * cancelled (3) transactions never settle.
 */
export const settle = (store: Store, now: Date): void => {
  const today = day(now)
  for (const t of store.transactions) {
    if (t.errorcode !== "0" || (t.requesttypedescription !== "AUTH" && t.requesttypedescription !== "REFUND")) continue
    if ((t.settlestatus === "0" || t.settlestatus === "1") && (t.settleduedate ?? today) < today) {
      t.settlestatus = "100"
    }
  }
}

const find = (store: Store, reference: string | undefined): Transaction | undefined =>
  reference === undefined ? undefined : store.transactions.find((t) => t.transactionreference === reference)

interface Processed {
  readonly item: Json
  readonly transaction?: Transaction | undefined
  /** Whether a chain goes on to its next type. */
  readonly proceed: boolean
}

const checkSite = (req: Json, ctx: Context): string | undefined => {
  const site = str(req.sitereference)
  return site === undefined || site === "" || (ctx.sitereference !== undefined && site !== ctx.sitereference)
    ? undefined
    : site
}

/** AUTH, ACCOUNTCHECK, THREEDQUERY, RISKDEC: the card and amount checks, then the test bank. */
const cardRequest = (
  type: "AUTH" | "ACCOUNTCHECK" | "THREEDQUERY" | "RISKDEC",
  req: Json,
  store: Store,
  ctx: Context,
  parent: Transaction | undefined
): Processed => {
  const bad: Array<string> = []
  const site = checkSite(req, ctx)
  if (site === undefined) bad.push("sitereference")
  const amount = str(req.baseamount)
  if (amount === undefined || !/^\d{1,13}$/.test(amount)) bad.push("baseamount")
  if (type === "AUTH" && amount !== undefined && /^0+$/.test(amount)) bad.push("baseamount")
  const currency = str(req.currencyiso3a)
  if (currency === undefined || !/^[A-Z]{3}$/.test(currency)) bad.push("currencyiso3a")
  const accountType = str(req.accounttypedescription)
  if (accountType === undefined || !["ECOM", "MOTO", "RECUR", "CFT"].includes(accountType)) {
    bad.push("accounttypedescription")
  }
  // A card-on-file payment names its parent instead of the card.
  const parentRef = str(req.parenttransactionreference)
  const cardParent = parent ?? (str(req.pan) === undefined ? find(store, parentRef) : undefined)
  if (str(req.pan) === undefined && parentRef !== undefined && cardParent === undefined) {
    return { item: error(ctx, type, "20004", "Missing parent"), proceed: false }
  }
  let maskedpan = cardParent?.maskedpan
  let pan: string | undefined
  if (cardParent === undefined || str(req.pan) !== undefined) {
    pan = str(req.pan)?.replace(/[ -]/g, "")
    if (pan === undefined || !/^\d{12,19}$/.test(pan) || !luhn(pan)) bad.push("pan")
    const expiry = str(req.expirydate)
    if (expiry === undefined || !/^(0[1-9]|1[0-2])\/\d{4}$/.test(expiry)) bad.push("expirydate")
    const code = str(req.securitycode)
    const amex = pan !== undefined && /^3[47]/.test(pan)
    if (accountType === "ECOM" && (code === undefined || !(amex ? /^\d{4}$/ : /^\d{3}$/).test(code))) {
      bad.push("securitycode")
    }
    if (pan !== undefined) maskedpan = maskPan(pan)
  }
  const settlestatus = str(req.settlestatus)
  if (settlestatus !== undefined && !/^[0-3]$/.test(settlestatus)) bad.push("settlestatus")
  const settleduedate = str(req.settleduedate)
  if (settleduedate !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(settleduedate)) bad.push("settleduedate")
  if (bad.length > 0) return { item: invalid(ctx, type, bad), proceed: false }

  const known = pan === undefined
    ? (cardParent !== undefined && cardParent.errorcode === "0")
    : ACCEPTED_CARDS.has(pan) || ENROLLED_CARDS.has(pan)
  const bankError = amount === BANK_ERROR_AMOUNT && (type === "AUTH" || type === "ACCOUNTCHECK")
  const accepted = known && amount !== DECLINE_AMOUNT && !bankError
  const errorcode = bankError ? "60010" : accepted ? "0" : "70000"
  const errormessage = bankError ? "Bank System Error" : accepted ? "Ok" : "Decline"
  const base = {
    transactionreference: newReference(store, ctx),
    parenttransactionreference: parent?.transactionreference ?? parentRef,
    orderreference: str(req.orderreference),
    sitereference: site!,
    baseamount: type === "ACCOUNTCHECK" ? "0" : amount!,
    currencyiso3a: currency!,
    maskedpan,
    accounttypedescription: accountType,
    transactionstartedtimestamp: timestamp(ctx.now),
    address: ctx.address,
    requestreference: ctx.requestreference
  }
  let t: Transaction
  let proceed = accepted
  if (type === "THREEDQUERY") {
    const enrolled = pan !== undefined && ENROLLED_CARDS.has(pan) ? "Y" : "N"
    t = {
      ...base,
      requesttypedescription: type,
      errorcode: "0",
      errormessage: "Ok",
      settlestatus: "0",
      enrolled
    }
    store.transactions.push(t)
    const item = { ...toRecord(t), errordata: [] } as Json
    if (enrolled === "Y") {
      item.acsurl = "https://acs.simulator.test/challenge"
      item.threedpayload = "c2ltdWxhdGVkLXBheWxvYWQ"
      item.md = `md-${t.transactionreference}`
      item.threedversion = "2.2.0"
    }
    // An enrolled card must complete 3-D Secure first: the chain's AUTH is not processed.
    return { item, transaction: t, proceed: enrolled !== "Y" }
  }
  if (type === "RISKDEC") {
    const shield = accepted ? "ACCEPT" : "DENY"
    t = {
      ...base,
      requesttypedescription: type,
      errorcode: "0",
      errormessage: "Ok",
      settlestatus: "0",
      fraudcontrolshieldstatuscode: shield
    }
    store.transactions.push(t)
    return {
      item: { ...toRecord(t), fraudcontrolreference: `fr-${t.transactionreference}`, errordata: [] },
      transaction: t,
      proceed: shield === "ACCEPT"
    }
  }
  t = {
    ...base,
    requesttypedescription: type,
    errorcode,
    errormessage,
    settlestatus: accepted ? (settlestatus ?? "0") : "3",
    settleduedate: accepted ? (settleduedate ?? day(ctx.now)) : undefined,
    authcode: accepted ? "TEST" + String(store.next % 100).padStart(2, "0") : undefined,
    acquirerresponsecode: accepted ? "00" : bankError ? undefined : "05"
  }
  store.transactions.push(t)
  proceed = accepted
  return { item: { ...toRecord(t), errordata: [], livestatus: "0" }, transaction: t, proceed }
}

const subscription = (req: Json, store: Store, ctx: Context, chainParent: Transaction | undefined): Processed => {
  const parent = chainParent ?? find(store, str(req.parenttransactionreference))
  if (parent === undefined) return { item: error(ctx, "SUBSCRIPTION", "20004", "Missing parent"), proceed: false }
  if (parent.errorcode !== "0") {
    return { item: error(ctx, "SUBSCRIPTION", "20019", "Subscription requires successful parent"), proceed: false }
  }
  if (chainParent === undefined && str(req.accounttypedescription) !== "RECUR") {
    return { item: error(ctx, "SUBSCRIPTION", "20018", "Subscription requires RECUR account"), proceed: false }
  }
  const bad: Array<string> = []
  const type = str(req.subscriptiontype)
  if (type === undefined || !["RECURRING", "INSTALLMENT"].includes(type)) bad.push("subscriptiontype")
  const unit = str(req.subscriptionunit)
  if (unit === undefined || !["DAY", "MONTH"].includes(unit)) bad.push("subscriptionunit")
  const frequency = str(req.subscriptionfrequency)
  if (frequency === undefined || !/^[1-9]\d{0,2}$/.test(frequency)) bad.push("subscriptionfrequency")
  const final = str(req.subscriptionfinalnumber)
  if (final !== undefined && !/^\d{1,3}$/.test(final)) bad.push("subscriptionfinalnumber")
  if (bad.length > 0) return { item: invalid(ctx, "SUBSCRIPTION", bad), proceed: false }
  const t: Transaction = {
    transactionreference: newReference(store, ctx),
    parenttransactionreference: parent.transactionreference,
    orderreference: str(req.orderreference) ?? parent.orderreference,
    requesttypedescription: "SUBSCRIPTION",
    sitereference: parent.sitereference,
    baseamount: str(req.baseamount) ?? parent.baseamount,
    currencyiso3a: parent.currencyiso3a,
    maskedpan: parent.maskedpan,
    errorcode: "0",
    errormessage: "Ok",
    // The scheduled payments are the gateway's later work: the subscription itself is suspended.
    settlestatus: "2",
    accounttypedescription: "RECUR",
    transactionstartedtimestamp: timestamp(ctx.now),
    address: ctx.address,
    requestreference: ctx.requestreference,
    subscriptionnumber: str(req.subscriptionnumber) ?? "1",
    subscriptiontype: type,
    subscriptionunit: unit,
    subscriptionfrequency: frequency,
    subscriptionfinalnumber: final
  }
  store.transactions.push(t)
  return { item: { ...toRecord(t), errordata: [] }, transaction: t, proceed: true }
}

const refund = (req: Json, store: Store, ctx: Context): Json => {
  const parent = find(store, str(req.parenttransactionreference))
  if (parent === undefined) return error(ctx, "REFUND", "20004", "Missing parent")
  if (parent.requesttypedescription !== "AUTH") {
    return error(ctx, "REFUND", "20006", "Refund requires authorisation parent")
  }
  if (parent.errorcode === "70000") return error(ctx, "REFUND", "20011", "Cannot refund a decline transaction")
  if (parent.errorcode !== "0") return error(ctx, "REFUND", "20004", "Missing parent")
  if (parent.settlestatus === "3") return error(ctx, "REFUND", "20012", "Refund requires a settled parent")
  if (parent.settlestatus !== "100") {
    return error(ctx, "REFUND", "20005", "Refund requires settled parent or parent thats due to settle today")
  }
  const currency = str(req.currencyiso3a)
  if (currency !== undefined && currency !== parent.currencyiso3a) {
    return error(ctx, "REFUND", "20015", "Cannot override currency in child transaction")
  }
  const settled = Number(parent.settlebaseamount ?? parent.baseamount)
  const refunded = store.transactions
    .filter((t) =>
      t.requesttypedescription === "REFUND" && t.parenttransactionreference === parent.transactionreference &&
      t.errorcode === "0"
    )
    .reduce((n, t) => n + Number(t.baseamount), 0)
  const amount = str(req.baseamount) ?? String(settled - refunded)
  if (!/^\d{1,13}$/.test(amount) || Number(amount) === 0) return invalid(ctx, "REFUND", ["baseamount"])
  if (Number(amount) > settled - refunded) return error(ctx, "REFUND", "20007", "Refund amount too great")
  const t: Transaction = {
    transactionreference: newReference(store, ctx),
    parenttransactionreference: parent.transactionreference,
    orderreference: str(req.orderreference) ?? parent.orderreference,
    requesttypedescription: "REFUND",
    sitereference: parent.sitereference,
    baseamount: amount,
    currencyiso3a: parent.currencyiso3a,
    maskedpan: parent.maskedpan,
    errorcode: "0",
    errormessage: "Ok",
    settlestatus: "0",
    settleduedate: day(ctx.now),
    transactionstartedtimestamp: timestamp(ctx.now),
    address: ctx.address,
    requestreference: ctx.requestreference
  }
  store.transactions.push(t)
  return { ...toRecord(t), errordata: [] }
}

const FILTER_FIELDS = [
  "sitereference",
  "transactionreference",
  "parenttransactionreference",
  "orderreference",
  "requesttypedescription",
  "accounttypedescription",
  "currencyiso3a",
  "errorcode",
  "settlestatus"
] as const

const filterValues = (filter: Json, field: string): ReadonlyArray<string> | undefined | "invalid" => {
  const v = filter[field]
  if (v === undefined) return undefined
  if (!Array.isArray(v)) return "invalid"
  const out: Array<string> = []
  for (const item of v) {
    if (!isObject(item) || typeof item.value !== "string") return "invalid"
    out.push(item.value)
  }
  return out
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$/

const select = (
  type: string,
  req: Json,
  store: Store,
  ctx: Context
): { readonly matches: ReadonlyArray<Transaction> } | { readonly error: Json } => {
  if (!isObject(req.filter)) return { error: error(ctx, type, "60019", "No searchable filter specified") }
  const filter = req.filter
  let matches: ReadonlyArray<Transaction> = store.transactions
  let searchable = false
  for (const field of FILTER_FIELDS) {
    const values = filterValues(filter, field)
    if (values === "invalid") return { error: invalid(ctx, type, [field]) }
    if (values === undefined || values.length === 0) continue
    if (field !== "sitereference") searchable = true
    matches = matches.filter((t) => values.includes(String(t[field] ?? "")))
  }
  for (const field of ["starttimestamp", "endtimestamp"] as const) {
    const values = filterValues(filter, field)
    if (values === "invalid" || (values !== undefined && (values.length !== 1 || !TIMESTAMP.test(values[0])))) {
      return { error: invalid(ctx, type, [field]) }
    }
    if (values === undefined) continue
    searchable = true
    // A date alone is the whole day: from its first second, or through its last.
    const bound = values[0].length === 10
      ? values[0] + (field === "starttimestamp" ? " 00:00:00" : " 23:59:59")
      : values[0]
    matches = matches.filter((t) =>
      field === "starttimestamp" ? t.transactionstartedtimestamp >= bound : t.transactionstartedtimestamp <= bound
    )
  }
  if (!searchable) return { error: error(ctx, type, "60019", "No searchable filter specified") }
  return { matches }
}

const transactionQuery = (req: Json, store: Store, ctx: Context): Json => {
  const s = select("TRANSACTIONQUERY", req, store, ctx)
  if ("error" in s) return s.error
  return {
    requesttypedescription: "TRANSACTIONQUERY",
    transactionstartedtimestamp: timestamp(ctx.now),
    errorcode: "0",
    errormessage: "Ok",
    errordata: [],
    found: String(s.matches.length),
    records: s.matches.map(toRecord)
  }
}

const transactionUpdate = (req: Json, store: Store, ctx: Context): Json => {
  const T = "TRANSACTIONUPDATE"
  const s = select(T, req, store, ctx)
  if ("error" in s) return s.error
  if (!isObject(req.updates) || Object.keys(req.updates).length === 0) {
    return error(ctx, T, "60013", "No valid updates specified")
  }
  if (s.matches.length === 0) return error(ctx, T, "60014", "Transaction reference not found")
  if (s.matches.length !== 1) return invalid(ctx, T, ["filter"])
  const t = s.matches[0]
  // Only a transaction still waiting to settle (0, 1) or suspended (2) can change.
  if (!["0", "1", "2"].includes(t.settlestatus) || t.errorcode !== "0") {
    return error(ctx, T, "60017", "Transaction not updatable")
  }
  const updates = req.updates
  const bad: Array<string> = []
  for (const k of Object.keys(updates)) {
    if (!["settlestatus", "settleduedate", "settlebaseamount", "orderreference"].includes(k)) bad.push(k)
  }
  const settlestatus = str(updates.settlestatus)
  if (updates.settlestatus !== undefined && (settlestatus === undefined || !/^[0-3]$/.test(settlestatus))) {
    bad.push("settlestatus")
  }
  const due = str(updates.settleduedate)
  if (updates.settleduedate !== undefined && (due === undefined || !/^\d{4}-\d{2}-\d{2}$/.test(due))) {
    bad.push("settleduedate")
  }
  const amount = str(updates.settlebaseamount)
  if (updates.settlebaseamount !== undefined && (amount === undefined || !/^\d{1,13}$/.test(amount))) {
    bad.push("settlebaseamount")
  }
  if (bad.length > 0) return invalid(ctx, T, bad)
  if (amount !== undefined && Number(amount) > Number(t.baseamount)) {
    return error(ctx, T, "60016", "settlebaseamount too large")
  }
  if (settlestatus !== undefined) t.settlestatus = settlestatus
  if (due !== undefined) t.settleduedate = due
  if (amount !== undefined) t.settlebaseamount = amount
  return {
    requesttypedescription: T,
    transactionstartedtimestamp: timestamp(ctx.now),
    errorcode: "0",
    errormessage: "Ok",
    errordata: []
  }
}

const one = (type: string, req: Json, store: Store, ctx: Context, parent: Transaction | undefined): Processed => {
  switch (type) {
    case "AUTH":
    case "ACCOUNTCHECK":
    case "THREEDQUERY":
    case "RISKDEC":
      return cardRequest(type, req, store, ctx, parent)
    case "SUBSCRIPTION":
      return subscription(req, store, ctx, parent)
    case "REFUND":
      return { item: refund(req, store, ctx), proceed: false }
    case "TRANSACTIONQUERY":
      return { item: transactionQuery(req, store, ctx), proceed: false }
    default:
      return { item: transactionUpdate(req, store, ctx), proceed: false }
  }
}

/** One request item of an envelope: one response item per processed type, each child naming its parent. */
export const handleOne = (req: unknown, store: Store, ctx: Context): Array<Json> => {
  if (!isObject(req)) return [invalid(ctx, "ERROR", ["request"])]
  const types = req.requesttypedescriptions
  if (!Array.isArray(types) || types.length === 0 || !types.every((t) => typeof t === "string")) {
    return [invalid(ctx, "ERROR", ["requesttypedescriptions"])]
  }
  const key = (types as Array<string>).join("+")
  if (!(types.length === 1 ? SINGLE_TYPES.includes(key) : CHAINS.includes(key))) {
    return [error(ctx, undefined, "60018", "Invalid requesttype")]
  }
  const out: Array<Json> = []
  let parent: Transaction | undefined
  for (const type of types as Array<string>) {
    const processed = one(type, req, store, ctx, parent)
    out.push(processed.item)
    if (!processed.proceed) break
    parent = processed.transaction
  }
  return out
}

/** @internal */
export interface Credentials {
  readonly username: string
  readonly password: string
}

/** Checks the Authorization header (Basic) against the configured user: a mismatch is the 401 page. */
export const authenticated = (header: string | undefined, credentials: Credentials): boolean => {
  if (header === undefined || !/^basic /i.test(header)) return false
  const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  if (colon < 0) return false
  return decoded.slice(0, colon) === credentials.username && decoded.slice(colon + 1) === credentials.password
}

/** The user name of a Basic Authorization header (never the password), for the request log. */
export const basicUsername = (header: string | undefined): string | undefined => {
  if (header === undefined || !/^basic /i.test(header)) return undefined
  const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  return colon < 0 ? undefined : decoded.slice(0, colon)
}

/** The answer to malformed JSON (10205), as the troubleshooting page shows it. */
export const malformedJson = (now: Date): Json => ({
  requesttypedescription: "ERROR",
  transactionstartedtimestamp: timestamp(now),
  errorcode: "10205",
  errormessage: "Malformed JSON",
  errordata: ["invalid json"]
})

/** The answer to a whole envelope: the items of every request, or one error item. */
export const handleEnvelope = (
  envelope: unknown,
  credentials: Credentials,
  store: Store,
  ctx: Context
): { readonly response: Array<Json>; readonly types: ReadonlyArray<string> } => {
  const types = isObject(envelope) && Array.isArray(envelope.request)
    ? envelope.request.map((r) =>
      isObject(r) && Array.isArray(r.requesttypedescriptions) ? r.requesttypedescriptions.map(String).join("+") : "?"
    )
    : []
  settle(store, ctx.now)
  if (!isObject(envelope)) return { response: [invalid(ctx, "ERROR", ["request"])], types }
  // The Basic-auth user passed; the envelope's alias must be that user too.
  if (envelope.alias !== credentials.username) {
    return { response: [error(ctx, undefined, "60022", "Unauthenticated")], types }
  }
  if (envelope.version !== "1.00") return { response: [invalid(ctx, "ERROR", ["version"])], types }
  if (!Array.isArray(envelope.request) || envelope.request.length === 0) {
    return { response: [invalid(ctx, "ERROR", ["request"])], types }
  }
  return { response: envelope.request.flatMap((r) => handleOne(r, store, ctx)), types }
}
