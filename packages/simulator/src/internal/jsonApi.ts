/**
 * The simulated gateway's JSON API: validation, test-card rules, the transaction store and the
 * answers. Pure apart from the store; the server feeds it parsed envelopes.
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

const error = (
  requesttypedescription: string | undefined,
  errorcode: string,
  errormessage: string,
  errordata: Array<string> = []
): Json => ({
  ...(requesttypedescription === undefined ? {} : { requesttypedescription }),
  errorcode,
  errormessage,
  errordata
})

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

const timestamp = (d: Date): string => d.toISOString().replace("T", " ").slice(0, 19)

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

const paymentLike = (type: "AUTH" | "ACCOUNTCHECK", req: Json, store: Store, ctx: Context): Json => {
  const invalid: Array<string> = []
  const site = str(req.sitereference)
  if (site === undefined || site === "" || (ctx.sitereference !== undefined && site !== ctx.sitereference)) {
    invalid.push("sitereference")
  }
  const amount = str(req.baseamount)
  if (amount === undefined || !/^\d{1,13}$/.test(amount)) invalid.push("baseamount")
  if (type === "AUTH" && amount !== undefined && /^0+$/.test(amount)) invalid.push("baseamount")
  const currency = str(req.currencyiso3a)
  if (currency === undefined || !/^[A-Z]{3}$/.test(currency)) invalid.push("currencyiso3a")
  const accountType = str(req.accounttypedescription)
  if (accountType === undefined || !["ECOM", "MOTO", "RECUR", "CFT"].includes(accountType)) {
    invalid.push("accounttypedescription")
  }
  const pan = str(req.pan)?.replace(/[ -]/g, "")
  if (pan === undefined || !/^\d{12,19}$/.test(pan) || !luhn(pan)) invalid.push("pan")
  const expiry = str(req.expirydate)
  if (expiry === undefined || !/^(0[1-9]|1[0-2])\/\d{4}$/.test(expiry)) invalid.push("expirydate")
  const code = str(req.securitycode)
  const amex = pan !== undefined && /^3[47]/.test(pan)
  if (accountType === "ECOM" && (code === undefined || !(amex ? /^\d{4}$/ : /^\d{3}$/).test(code))) {
    invalid.push("securitycode")
  }
  if (invalid.length > 0) return error(type, "30000", "Invalid field", invalid)
  const accepted = ACCEPTED_CARDS.has(pan!)
  const transactionreference = newReference(store, ctx)
  const t: Transaction = {
    transactionreference,
    orderreference: str(req.orderreference),
    requesttypedescription: type,
    sitereference: site!,
    baseamount: type === "ACCOUNTCHECK" ? "0" : amount!,
    currencyiso3a: currency!,
    maskedpan: maskPan(pan!),
    errorcode: accepted ? "0" : "70000",
    errormessage: accepted ? "Ok" : "Decline",
    settlestatus: accepted ? (str(req.settlestatus) ?? "0") : "3",
    authcode: accepted ? "TEST" + String(store.next % 100).padStart(2, "0") : undefined,
    acquirerresponsecode: accepted ? "00" : "05",
    accounttypedescription: accountType,
    transactionstartedtimestamp: timestamp(ctx.now),
    address: ctx.address,
    requestreference: ctx.requestreference
  }
  store.transactions.push(t)
  return { ...toRecord(t), errordata: [], livestatus: "0" }
}

const refund = (req: Json, store: Store, ctx: Context): Json => {
  const parentRef = str(req.parenttransactionreference)
  const parent = store.transactions.find((t) =>
    t.transactionreference === parentRef && t.requesttypedescription === "AUTH"
  )
  if (parent === undefined || parent.errorcode !== "0") {
    return error("REFUND", "30000", "Invalid field", ["parenttransactionreference"])
  }
  const amount = str(req.baseamount) ?? parent.baseamount
  if (!/^\d{1,13}$/.test(amount) || Number(amount) > Number(parent.baseamount)) {
    return error("REFUND", "30000", "Invalid field", ["baseamount"])
  }
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
  "orderreference",
  "requesttypedescription",
  "currencyiso3a",
  "errorcode"
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

const select = (
  type: string,
  req: Json,
  store: Store
): { readonly matches: ReadonlyArray<Transaction> } | { readonly invalid: Array<string> } => {
  if (!isObject(req.filter)) return { invalid: ["filter"] }
  const filter = req.filter
  let matches: ReadonlyArray<Transaction> = store.transactions
  let any = false
  for (const field of FILTER_FIELDS) {
    const values = filterValues(filter, field)
    if (values === "invalid") return { invalid: [field] }
    if (values === undefined) continue
    if (field !== "sitereference") any = true
    matches = matches.filter((t) => values.includes(String(t[field] ?? "")))
  }
  if (type === "TRANSACTIONUPDATE" && !any) return { invalid: ["filter"] }
  return { matches }
}

const transactionQuery = (req: Json, store: Store): Json => {
  const s = select("TRANSACTIONQUERY", req, store)
  if ("invalid" in s) return error("TRANSACTIONQUERY", "30000", "Invalid field", s.invalid)
  return {
    requesttypedescription: "TRANSACTIONQUERY",
    errorcode: "0",
    errormessage: "Ok",
    errordata: [],
    found: String(s.matches.length),
    records: s.matches.map(toRecord)
  }
}

const transactionUpdate = (req: Json, store: Store): Json => {
  const s = select("TRANSACTIONUPDATE", req, store)
  if ("invalid" in s) return error("TRANSACTIONUPDATE", "30000", "Invalid field", s.invalid)
  if (!isObject(req.updates)) return error("TRANSACTIONUPDATE", "30000", "Invalid field", ["updates"])
  if (s.matches.length !== 1) return error("TRANSACTIONUPDATE", "30000", "Invalid field", ["filter"])
  const settlestatus = str(req.updates.settlestatus)
  if (settlestatus !== undefined) {
    if (!/^[0-3]$|^100$/.test(settlestatus)) {
      return error("TRANSACTIONUPDATE", "30000", "Invalid field", ["settlestatus"])
    }
    s.matches[0].settlestatus = settlestatus
  }
  return { requesttypedescription: "TRANSACTIONUPDATE", errorcode: "0", errormessage: "Ok", errordata: [] }
}

/** One request item of an envelope. */
export const handleOne = (req: unknown, store: Store, ctx: Context): Json => {
  if (!isObject(req)) return error(undefined, "30000", "Invalid field", ["request"])
  const types = req.requesttypedescriptions
  if (!Array.isArray(types) || types.length !== 1 || typeof types[0] !== "string") {
    return error(undefined, "30000", "Invalid field", ["requesttypedescriptions"])
  }
  const type = types[0]
  switch (type) {
    case "AUTH":
    case "ACCOUNTCHECK":
      return paymentLike(type, req, store, ctx)
    case "REFUND":
      return refund(req, store, ctx)
    case "TRANSACTIONQUERY":
      return transactionQuery(req, store)
    case "TRANSACTIONUPDATE":
      return transactionUpdate(req, store)
    default:
      return error(type, "30000", "Invalid field", ["requesttypedescriptions"])
  }
}

/** @internal */
export interface Credentials {
  readonly username: string
  readonly password: string
}

/** Checks the Authorization header against the configured user. */
export const authenticated = (header: string | undefined, alias: unknown, credentials: Credentials): boolean => {
  if (header === undefined || !/^basic /i.test(header)) return false
  const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  if (colon < 0) return false
  const user = decoded.slice(0, colon)
  const password = decoded.slice(colon + 1)
  return user === credentials.username && password === credentials.password && alias === credentials.username
}

/** The answer to a whole envelope: one item per request, or one error item. */
export const handleEnvelope = (
  envelope: unknown,
  authorized: boolean,
  store: Store,
  ctx: Context
): { readonly response: Array<Json>; readonly types: ReadonlyArray<string> } => {
  const types = isObject(envelope) && Array.isArray(envelope.request)
    ? envelope.request.map((r) =>
      isObject(r) && Array.isArray(r.requesttypedescriptions) ? String(r.requesttypedescriptions[0]) : "?"
    )
    : []
  if (!authorized) return { response: [error(undefined, "60022", "Unauthenticated")], types }
  if (!isObject(envelope)) return { response: [error(undefined, "30000", "Invalid field", ["request"])], types }
  if (envelope.version !== "1.00") return { response: [error(undefined, "30000", "Invalid field", ["version"])], types }
  if (!Array.isArray(envelope.request) || envelope.request.length === 0) {
    return { response: [error(undefined, "30000", "Invalid field", ["request"])], types }
  }
  return { response: envelope.request.map((r) => handleOne(r, store, ctx)), types }
}
