/**
 * The typed Secure Trading JSON client: one service over `ConnectionService` that builds the
 * envelope, sends it with Basic auth and a fresh request reference, checks that the response
 * answers that reference, and turns the gateway's errorcodes into typed results and errors.
 *
 * @since 0.1.0
 */
import type * as ConnectionError from "@stpp/connect/ConnectionError"
import * as ConnectionService from "@stpp/connect/ConnectionService"
import * as Redact from "@stpp/connect/Redact"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Envelope from "./Envelope.js"
import {
  ContactSupport,
  FinalStatusUnknown,
  GatewayFailure,
  HttpStatusError,
  InvalidField,
  InvalidRequest,
  isOutcomeUnknown,
  LookupFailed,
  MalformedRequest,
  MalformedResponse,
  PaymentNotFound,
  ReferenceMismatch,
  RequestRejected,
  safeGatewayText,
  Unauthenticated,
  UpstreamUnavailable
} from "./GatewayError.js"
import type {
  AuthOrLookupError,
  ErrorCodeError,
  GatewayError,
  InvalidRequest as InvalidRequestT,
  RejectionReason,
  ResponseError,
  TransportError,
  Unauthenticated as UnauthenticatedT
} from "./GatewayError.js"
import * as Requests from "./Requests.js"
import * as Responses from "./Responses.js"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * The web-services credentials and the default site reference.
 *
 * @since 0.1.0
 * @category models
 */
export interface Credentials {
  /** The web-services user; also the envelope's `alias`. */
  readonly username: string
  readonly password: Redacted.Redacted<string>
  /** Used for requests that do not name their own site reference. */
  readonly sitereference?: string | undefined
}

/**
 * A request without its type and, optionally, without the site reference (the configured one is
 * used).
 *
 * @since 0.1.0
 * @category models
 */
export type Input<R> = Omit<R, "requesttypedescriptions" | "sitereference"> & {
  readonly sitereference?: string | undefined
}

/**
 * AUTH fields.
 *
 * @since 0.1.0
 * @category models
 */
export type AuthInput = Input<Requests.Auth>

/**
 * What an envelope call returns: the decoded response and how it was obtained.
 *
 * @since 0.1.0
 * @category models
 */
export interface Sent {
  /** The request reference sent and echoed. */
  readonly reference: string
  readonly envelope: Responses.ResponseEnvelope
  /** The gateway address that answered. */
  readonly address: string
  readonly attempts: number
  readonly elapsedMillis: number
}

/**
 * The bank authorised the payment (errorcode 0).
 *
 * @since 0.1.0
 * @category results
 */
export class Authorised extends Data.TaggedClass("Authorised")<{
  readonly transactionreference: string | undefined
  readonly authcode: string | undefined
  readonly maskedpan: string | undefined
  readonly settlestatus: string | undefined
  /** The request reference of the call that answered (the lookup's, when recovered). */
  readonly reference: string
  /** True when the outcome was found by a TRANSACTIONQUERY after an unknown outcome. */
  readonly recovered: boolean
  readonly response: Responses.ResponseItem | Responses.TransactionRecord
}> {}

/**
 * The bank declined (errorcode 70000): an answer, not a failure.
 *
 * @since 0.1.0
 * @category results
 */
export class Declined extends Data.TaggedClass("Declined")<{
  readonly transactionreference: string | undefined
  readonly acquirerresponsecode: string | undefined
  readonly errormessage: string
  readonly reference: string
  readonly recovered: boolean
  readonly response: Responses.ResponseItem | Responses.TransactionRecord
}> {}

/**
 * A soft decline (errorcode 71000): the issuer wants Strong Customer Authentication. Resubmit the
 * payment with 3-D Secure (a THREEDQUERY+AUTH chain); not the same as a decline (70000).
 *
 * @since 0.1.0
 * @category results
 */
export class SoftDeclined extends Data.TaggedClass("SoftDeclined")<{
  readonly transactionreference: string | undefined
  readonly errormessage: string
  readonly reference: string
  readonly recovered: boolean
  readonly response: Responses.ResponseItem | Responses.TransactionRecord
}> {}

/**
 * What an AUTH or ACCOUNTCHECK answered.
 *
 * @since 0.1.0
 * @category results
 */
export type AuthOutcome = Authorised | Declined | SoftDeclined

/**
 * What THREEDQUERY answered: `enrolled` "Y" means the customer must complete 3-D Secure at
 * `acsurl` (with `threedpayload`/`pareq` and `md`) before the AUTH is sent with the result.
 *
 * @since 0.1.0
 * @category results
 */
export class ThreeDQueried extends Data.TaggedClass("ThreeDQueried")<{
  readonly enrolled: string | undefined
  readonly acsurl: string | undefined
  readonly threedpayload: string | undefined
  readonly pareq: string | undefined
  readonly md: string | undefined
  readonly threedversion: string | undefined
  /** Name it as `parenttransactionreference` of the AUTH that follows. */
  readonly transactionreference: string | undefined
  readonly reference: string
  readonly response: Responses.ResponseItem
}> {}

/**
 * What RISKDEC answered: the shield status ("ACCEPT", "DENY", "CHALLENGE", "TMREVIEW").
 *
 * @since 0.1.0
 * @category results
 */
export class RiskDecision extends Data.TaggedClass("RiskDecision")<{
  readonly shieldstatus: string | undefined
  readonly fraudcontrolresponsecode: string | undefined
  readonly fraudcontrolreference: string | undefined
  readonly transactionreference: string | undefined
  readonly reference: string
  readonly response: Responses.ResponseItem
}> {}

/**
 * A SUBSCRIPTION was set up (its payments are made by the gateway later, on schedule).
 *
 * @since 0.1.0
 * @category results
 */
export class Subscribed extends Data.TaggedClass("Subscribed")<{
  readonly transactionreference: string | undefined
  readonly parenttransactionreference: string | undefined
  readonly subscriptionnumber: string | undefined
  readonly reference: string
  readonly response: Responses.ResponseItem
}> {}

/**
 * A REFUND was accepted.
 *
 * @since 0.1.0
 * @category results
 */
export interface Refunded extends Responses.ResponseItem {}

/**
 * What a chain answered: one result per type the gateway processed. A type left out was not
 * processed: after a declined ACCOUNTCHECK, a DENY, or an enrolled THREEDQUERY (the customer must
 * complete 3-D Secure first), the AUTH is not sent on.
 *
 * @since 0.1.0
 * @category results
 */
export interface ChainResult {
  readonly accountCheck?: AuthOutcome | undefined
  readonly threeDQuery?: ThreeDQueried | undefined
  readonly riskDec?: RiskDecision | undefined
  readonly auth?: AuthOutcome | undefined
  readonly subscription?: Subscribed | undefined
  /** The response items in order. */
  readonly items: ReadonlyArray<Responses.ResponseItem>
  readonly reference: string
}

/**
 * The fields of a chain (the types come first, as the call's first argument).
 *
 * @since 0.1.0
 * @category models
 */
export type ChainInput = Input<Requests.Chain>

/**
 * What `transactionQuery` takes: plain values (`{ orderreference: "order-1" }`); the wire shape
 * (`[{ value }]`) is accepted too.
 *
 * @since 0.1.0
 * @category models
 */
export type QueryFilter = Requests.PlainFilter | Requests.Filter

/**
 * TRANSACTIONUPDATE's input: a filter (plain values) and the documented updates.
 *
 * @since 0.1.0
 * @category models
 */
export interface UpdateInput {
  readonly filter: QueryFilter
  readonly updates: Requests.TransactionUpdate["updates"]
  readonly extraFields?: Readonly<Record<string, unknown>> | undefined
}

/**
 * What TRANSACTIONQUERY found.
 *
 * @since 0.1.0
 * @category results
 */
export interface QueryResult {
  readonly found: number
  readonly records: ReadonlyArray<Responses.TransactionRecord>
  readonly reference: string
}

/**
 * @since 0.1.0
 * @category models
 */
export type RequestTypeError = InvalidRequestT | TransportError | ResponseError | ErrorCodeError

// -----------------------------------------------------------------------------
// the service
// -----------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category tags
 */
export class GatewayClient extends Context.Tag("@stpp/gateway/GatewayClient")<GatewayClient, {
  /**
   * Sends one envelope; the answer is checked for its reference and shape, not its errorcodes
   * (an HTTP 401 is `Unauthenticated`).
   */
  readonly send: (
    requests: readonly [Requests.Request, ...Array<Requests.Request>]
  ) => Effect.Effect<Sent, InvalidRequestT | TransportError | ResponseError | UnauthenticatedT>
  /** AUTH: a decline is a `Declined` result; an unknown outcome fails with `OutcomeUnknown` (see `authOrLookup`). */
  readonly auth: (input: AuthInput) => Effect.Effect<AuthOutcome, GatewayError>
  /** ACCOUNTCHECK: a decline is a `Declined` result. */
  readonly accountCheck: (input: Input<Requests.AccountCheck>) => Effect.Effect<AuthOutcome, GatewayError>
  /** REFUND of a settled AUTH (whole, or part with `baseamount`). */
  readonly refund: (input: Input<Requests.Refund>) => Effect.Effect<Refunded, GatewayError>
  /**
   * TRANSACTIONQUERY with plain filter values; at least one filter beyond the site reference (the
   * configured site reference is added when the filter has none).
   */
  readonly transactionQuery: (filter: QueryFilter) => Effect.Effect<QueryResult, GatewayError>
  /** TRANSACTIONUPDATE (`settlestatus`, `settleduedate`, `settlebaseamount`) while settlestatus is 0, 1 or 2. */
  readonly transactionUpdate: (
    input: UpdateInput | Omit<Requests.TransactionUpdate, "requesttypedescriptions">
  ) => Effect.Effect<Responses.ResponseItem, GatewayError>
  /** THREEDQUERY: is the card enrolled in 3-D Secure, and where does the customer authenticate. */
  readonly threeDQuery: (input: Input<Requests.ThreeDQuery>) => Effect.Effect<ThreeDQueried, GatewayError>
  /** RISKDEC: the fraud-risk decision. */
  readonly riskDec: (input: Input<Requests.RiskDec>) => Effect.Effect<RiskDecision, GatewayError>
  /** SUBSCRIPTION of an authorised parent. */
  readonly subscription: (input: Input<Requests.Subscription>) => Effect.Effect<Subscribed, GatewayError>
  /**
   * A chain of types in one request item (ACCOUNTCHECK+AUTH, THREEDQUERY+AUTH, RISKDEC+AUTH,
   * AUTH+SUBSCRIPTION, ACCOUNTCHECK+SUBSCRIPTION): one typed result per processed type. An AUTH in
   * it whose final status is not known fails with `FinalStatusUnknown`: look it up, never resend.
   */
  readonly chain: (types: Requests.ChainTypes, input: ChainInput) => Effect.Effect<ChainResult, GatewayError>
  /** Finds a payment by the merchant's order reference after its outcome was unknown. */
  readonly lookupAfterOutcomeUnknown: (orderreference: string) => Effect.Effect<QueryResult, GatewayError>
  /**
   * AUTH, and if its outcome is unknown (the request was sent but no usable answer came back, or
   * the gateway answered 60010/60034/99999), a TRANSACTIONQUERY by its order reference instead of a
   * second AUTH: the caller gets the payment's real outcome (`recovered: true`), `PaymentNotFound`,
   * `ContactSupport` (the record is still in an unknown state) or `LookupFailed`, never a double charge.
   */
  readonly authOrLookup: (
    input: AuthInput & { readonly orderreference: string }
  ) => Effect.Effect<AuthOutcome, AuthOrLookupError>
}>() {}

// -----------------------------------------------------------------------------
// helpers
// -----------------------------------------------------------------------------

const runtimeVersion = (): string => {
  const versions = (globalThis as { process?: { versions?: { node?: string }; platform?: string } }).process
  return `Node::${versions?.versions?.node ?? "unknown"}::${Envelope.LIBRARY_VERSION}::${
    versions?.platform ?? "unknown"
  }`
}

/**
 * The `versioninfo` header, as the official libraries send it ("PHP::8.2::3.1.0::Linux ..."): the
 * runtime, its version, this library's version and the platform. It helps the gateway's support.
 *
 * @since 0.1.0
 * @category constructors
 */
export const VERSION_INFO: string = runtimeVersion()

/**
 * The HTTP request for one envelope, as the gateway's JSON API wants it: POST, JSON in and out,
 * Basic auth, the request reference also as a `requestreference` header (the body carries it in
 * every item), and a `versioninfo` header naming library and runtime.
 *
 * @since 0.1.0
 * @category constructors
 */
export const wireRequest = (
  body: string,
  auth: { readonly username: string; readonly password: Redacted.Redacted<string> },
  reference: string
): ConnectionService.GatewayRequest => ({
  method: "POST",
  headers: {
    "content-type": "application/json;charset=utf-8",
    "accept": "application/json",
    "requestreference": reference,
    "versioninfo": VERSION_INFO
  },
  body,
  auth,
  reference
})

const REFERENCE_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

/**
 * A request reference as the official libraries make it: "A" and 8 random lowercase letters or
 * digits, from Effect's `Random` (so tests can seed it).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeReference: Effect.Effect<string> = Effect.gen(function*() {
  let out = "A"
  for (let i = 0; i < 8; i++) {
    out += REFERENCE_ALPHABET[yield* Random.nextIntBetween(0, REFERENCE_ALPHABET.length)]
  }
  return out
})

const pathsOf = (error: ParseResult.ParseError): ReadonlyArray<string> => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const paths = issues.map((i) => i.path.length === 0 ? "(root)" : i.path.map(String).join("."))
  return Array.from(new Set(paths))
}

const decodeEnvelope = Schema.decodeUnknownEither(Responses.ResponseEnvelope)
const textDecoder = new TextDecoder("utf-8", { fatal: false })

const requestTypeOf = (item: Responses.ResponseItem): string | undefined =>
  item.requesttypedescription === "ERROR" ? undefined : item.requesttypedescription

/** The documented field names in `errordata`; anything else there is the gateway's text, never repeated. */
const knownFields = (errordata: ReadonlyArray<string> | undefined): ReadonlyArray<string> =>
  (errordata ?? []).filter((f) => Requests.KNOWN_FIELDS.has(f))

/** Maps a non-zero errorcode (other than the ones a caller accepts as answers) to its error. */
const codeError = (
  item: Responses.ResponseItem,
  reference: string,
  username: string,
  credentialsFrom: "config" | "code"
): ErrorCodeError => {
  const code = item.errorcode
  const requestType = requestTypeOf(item)
  if (code === Responses.INVALID_FIELD) {
    const fields = knownFields(Array.isArray(item.errordata) ? item.errordata : undefined)
    return new InvalidField({
      code,
      field: fields.length > 0 ? fields.join(", ") : "unknown",
      fields,
      requestType,
      reference
    })
  }
  if (code === Responses.UNAUTHENTICATED) return new Unauthenticated({ code, username, reference, credentialsFrom })
  if (Responses.isFinalStatusUnknown(code)) {
    return new FinalStatusUnknown({
      code,
      errormessage: safeGatewayText(typeof item.errormessage === "string" ? item.errormessage : ""),
      requestType,
      reference,
      transactionreference: item.transactionreference
    })
  }
  if (code === Responses.MALFORMED_JSON) return new MalformedRequest({ code, reference })
  const rejection = Responses.REJECTIONS[code]
  if (rejection !== undefined) {
    return new RequestRejected({
      code,
      reason: rejection.reason as RejectionReason,
      meaning: rejection.meaning,
      requestType,
      reference
    })
  }
  if (Responses.isUpstreamCode(code)) return new UpstreamUnavailable({ code, requestType, reference })
  return new GatewayFailure({
    code,
    errormessage: safeGatewayText(typeof item.errormessage === "string" ? item.errormessage : ""),
    requestType,
    reference
  })
}

/**
 * The typed error of a response item's non-zero errorcode, as the client's methods fail with it:
 * for callers of `send`, which checks the reference and the shape but not the errorcodes. (A
 * decline is not an error: for AUTH and ACCOUNTCHECK the methods return it as `Declined`.)
 *
 * @since 0.1.0
 * @category errors
 */
export const errorOf = (
  item: Responses.ResponseItem,
  reference: string,
  options: { readonly username: string; readonly credentialsFrom?: "config" | "code" | undefined }
): ErrorCodeError => codeError(item, reference, options.username, options.credentialsFrom ?? "config")

const outcomeOf = (
  item: Responses.ResponseItem | Responses.TransactionRecord,
  reference: string,
  recovered: boolean
): Option.Option<AuthOutcome> => {
  if (item.errorcode === Responses.OK) {
    return Option.some(
      new Authorised({
        transactionreference: item.transactionreference,
        authcode: typeof item.authcode === "string" ? item.authcode : undefined,
        maskedpan: item.maskedpan,
        settlestatus: item.settlestatus,
        reference,
        recovered,
        response: item
      })
    )
  }
  if (item.errorcode === Responses.DECLINE) {
    return Option.some(
      new Declined({
        transactionreference: item.transactionreference,
        acquirerresponsecode: typeof item.acquirerresponsecode === "string" ? item.acquirerresponsecode : undefined,
        errormessage: safeGatewayText(typeof item.errormessage === "string" ? item.errormessage : "Decline"),
        reference,
        recovered,
        response: item
      })
    )
  }
  if (item.errorcode === Responses.SOFT_DECLINE) {
    return Option.some(
      new SoftDeclined({
        transactionreference: item.transactionreference,
        errormessage: safeGatewayText(typeof item.errormessage === "string" ? item.errormessage : "Soft Decline"),
        reference,
        recovered,
        response: item
      })
    )
  }
  return Option.none()
}

const AUTH_ANSWERS: ReadonlyArray<string> = [Responses.OK, Responses.DECLINE, Responses.SOFT_DECLINE]

const isSearchable = (filter: Requests.Filter): boolean =>
  Object.entries(filter).some(([k, v]) => k !== "sitereference" && Array.isArray(v) && v.length > 0)

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

/**
 * How the client was given its credentials (named in an `Unauthenticated` error's advice).
 *
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions {
  /** "config" (STPP_USERNAME / STPP_PASSWORD, the default) or "code". */
  readonly credentialsFrom?: "config" | "code" | undefined
}

/**
 * Builds the client over the `ConnectionService` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  credentials: Credentials,
  options: MakeOptions = {}
): Effect.Effect<GatewayClient["Type"], never, ConnectionService.ConnectionService> =>
  Effect.gen(function*() {
    const connection = yield* ConnectionService.ConnectionService
    const { password, username } = credentials
    const basicAuth = { username, password }
    const credentialsFrom = options.credentialsFrom ?? "config"

    const withSite = <R extends { readonly sitereference?: string | undefined }>(
      input: R,
      reference: string
    ): Effect.Effect<R & { readonly sitereference: string }, InvalidRequestT> => {
      const site = input.sitereference ?? credentials.sitereference
      return site === undefined
        ? Effect.fail(new InvalidRequest({ fields: ["sitereference (set STPP_SITE_REFERENCE)"], reference }))
        : Effect.succeed({ ...input, sitereference: site })
    }

    const sendWith = (
      reference: string,
      requests: readonly [Requests.Request, ...Array<Requests.Request>]
    ): Effect.Effect<Sent, InvalidRequestT | TransportError | ResponseError | UnauthenticatedT> =>
      Effect.gen(function*() {
        const body = yield* Envelope.encode(Envelope.make(username, requests), { requestreference: reference }).pipe(
          Effect.mapError((error) => new InvalidRequest({ fields: pathsOf(error), reference }))
        )
        const response = yield* connection.request(wireRequest(body, basicAuth, reference))
        const { address } = response
        // Bad Basic-auth credentials: an HTML 401 page, nothing processed (G2).
        if (response.status === 401) {
          return yield* new Unauthenticated({ code: "401", username, reference, credentialsFrom, httpStatus: 401 })
        }
        if (response.status !== 200) {
          return yield* new HttpStatusError({ status: response.status, address, reference })
        }
        let json: unknown
        try {
          json = JSON.parse(textDecoder.decode(response.body))
        } catch {
          return yield* new MalformedResponse({ reason: "not-json", paths: [], address, reference })
        }
        const decoded = decodeEnvelope(json)
        if (Either.isLeft(decoded)) {
          return yield* new MalformedResponse({
            reason: "not-an-envelope",
            paths: pathsOf(decoded.left),
            address,
            reference
          })
        }
        const envelope = decoded.right
        if (envelope.requestreference !== reference) {
          return yield* new ReferenceMismatch({ sent: reference, received: envelope.requestreference, address })
        }
        const echoed = envelope.response.find((i) =>
          i.requestreference !== undefined && i.requestreference !== reference
        )
        if (echoed?.requestreference !== undefined) {
          return yield* new ReferenceMismatch({ sent: reference, received: echoed.requestreference, address })
        }
        // One item per processed type: a chain answers 1..n items; a whole-envelope error answers one.
        const types = requests.reduce((n, r) => n + r.requesttypedescriptions.length, 0)
        const n = envelope.response.length
        const wholeEnvelopeError = n === 1 && envelope.response[0].requesttypedescription === "ERROR"
        if (n === 0 || n > types || (n < requests.length && !wholeEnvelopeError)) {
          return yield* new MalformedResponse({ reason: "wrong-number-of-responses", paths: [], address, reference })
        }
        return {
          reference,
          envelope,
          address,
          attempts: response.attempts,
          elapsedMillis: response.elapsedMillis
        } satisfies Sent
      }).pipe(
        Effect.withSpan("GatewayClient.send", {
          attributes: { reference, requestTypes: requests.map((r) => r.requesttypedescriptions.join("+")).join(",") }
        })
      )

    const send: GatewayClient["Type"]["send"] = (requests) =>
      Effect.flatMap(makeReference, (reference) => sendWith(reference, requests))

    /** One request, its single response item; a non-zero errorcode other than `accept` fails. */
    const one = (
      reference: string,
      request: Requests.Request,
      accept: ReadonlyArray<string> = [Responses.OK]
    ): Effect.Effect<Responses.ResponseItem, RequestTypeError> =>
      Effect.flatMap(sendWith(reference, [request]), (sent) => {
        const item = sent.envelope.response[0]
        return accept.includes(item.errorcode)
          ? Effect.succeed(item)
          : Effect.fail(codeError(item, reference, username, credentialsFrom))
      })

    const authLike = (
      type: "AUTH" | "ACCOUNTCHECK",
      input: AuthInput
    ): Effect.Effect<AuthOutcome, GatewayError> =>
      Effect.gen(function*() {
        const reference = yield* makeReference
        const full = yield* withSite(input, reference)
        const request = { ...full, requesttypedescriptions: [type] } as Requests.Auth | Requests.AccountCheck
        const item = yield* one(reference, request, AUTH_ANSWERS)
        return Option.getOrThrow(outcomeOf(item, reference, false))
      })

    const auth: GatewayClient["Type"]["auth"] = (input) => authLike("AUTH", input)

    const accountCheck: GatewayClient["Type"]["accountCheck"] = (input) => authLike("ACCOUNTCHECK", input)

    const simple = <R extends { readonly sitereference?: string | undefined }, A>(
      type: "REFUND" | "THREEDQUERY" | "RISKDEC" | "SUBSCRIPTION",
      input: R,
      result: (item: Responses.ResponseItem, reference: string) => A
    ): Effect.Effect<A, GatewayError> =>
      Effect.gen(function*() {
        const reference = yield* makeReference
        const full = yield* withSite(input, reference)
        const item = yield* one(reference, { ...full, requesttypedescriptions: [type] } as unknown as Requests.Request)
        return result(item, reference)
      })

    const threeDQueried = (item: Responses.ResponseItem, reference: string) =>
      new ThreeDQueried({
        enrolled: item.enrolled,
        acsurl: item.acsurl,
        threedpayload: item.threedpayload,
        pareq: item.pareq,
        md: item.md,
        threedversion: item.threedversion,
        transactionreference: item.transactionreference,
        reference,
        response: item
      })
    const riskDecision = (item: Responses.ResponseItem, reference: string) =>
      new RiskDecision({
        shieldstatus: item.fraudcontrolshieldstatuscode,
        fraudcontrolresponsecode: item.fraudcontrolresponsecode,
        fraudcontrolreference: item.fraudcontrolreference,
        transactionreference: item.transactionreference,
        reference,
        response: item
      })
    const subscribed = (item: Responses.ResponseItem, reference: string) =>
      new Subscribed({
        transactionreference: item.transactionreference,
        parenttransactionreference: item.parenttransactionreference,
        subscriptionnumber: item.subscriptionnumber,
        reference,
        response: item
      })

    const refund: GatewayClient["Type"]["refund"] = (input) => simple("REFUND", input, (item) => item)
    const threeDQuery: GatewayClient["Type"]["threeDQuery"] = (input) => simple("THREEDQUERY", input, threeDQueried)
    const riskDec: GatewayClient["Type"]["riskDec"] = (input) => simple("RISKDEC", input, riskDecision)
    const subscription: GatewayClient["Type"]["subscription"] = (input) => simple("SUBSCRIPTION", input, subscribed)

    const filterOf = (plain: QueryFilter, reference: string): Effect.Effect<Requests.Filter, InvalidRequestT> => {
      const filter = Requests.toFilter(plain)
      if (!isSearchable(filter)) {
        return Effect.fail(
          new InvalidRequest({
            fields: [
              `filter (at least one of ${Requests.FILTER_FIELDS.filter((f) => f !== "sitereference").join(", ")})`
            ],
            reference
          })
        )
      }
      return Effect.succeed(
        filter.sitereference === undefined && credentials.sitereference !== undefined
          ? { ...filter, sitereference: Requests.filterValue(credentials.sitereference) }
          : filter
      )
    }

    const transactionQuery: GatewayClient["Type"]["transactionQuery"] = (plain) =>
      Effect.gen(function*() {
        const reference = yield* makeReference
        const filter = yield* filterOf(plain, reference)
        const item = yield* one(reference, { requesttypedescriptions: ["TRANSACTIONQUERY"], filter })
        const records = item.records ?? []
        const found = item.found !== undefined && /^\d+$/.test(item.found) ? Number(item.found) : records.length
        return { found, records, reference } satisfies QueryResult
      })

    const transactionUpdate: GatewayClient["Type"]["transactionUpdate"] = (input) =>
      Effect.gen(function*() {
        const reference = yield* makeReference
        const filter = yield* filterOf(input.filter, reference)
        const request: Requests.TransactionUpdate = {
          requesttypedescriptions: ["TRANSACTIONUPDATE"],
          filter,
          updates: input.updates,
          ...(input.extraFields === undefined ? {} : { extraFields: input.extraFields })
        }
        return yield* one(reference, request)
      })

    const chain: GatewayClient["Type"]["chain"] = (types, input) =>
      Effect.gen(function*() {
        const reference = yield* makeReference
        const full = yield* withSite(input, reference)
        const request = { ...full, requesttypedescriptions: types } as Requests.Chain
        const sent = yield* sendWith(reference, [request])
        const items = sent.envelope.response
        const result: {
          -readonly [K in keyof ChainResult]: ChainResult[K]
        } = { items, reference }
        for (let i = 0; i < items.length; i++) {
          const item = items[i]
          const type = item.requesttypedescription !== undefined && item.requesttypedescription !== "ERROR"
            ? item.requesttypedescription
            : types[i]
          const payment = type === "AUTH" || type === "ACCOUNTCHECK"
          const accepted = payment ? AUTH_ANSWERS.includes(item.errorcode) : item.errorcode === Responses.OK
          if (!accepted) return yield* codeError(item, reference, username, credentialsFrom)
          switch (type) {
            case "AUTH":
              result.auth = Option.getOrThrow(outcomeOf(item, reference, false))
              break
            case "ACCOUNTCHECK":
              result.accountCheck = Option.getOrThrow(outcomeOf(item, reference, false))
              break
            case "THREEDQUERY":
              result.threeDQuery = threeDQueried(item, reference)
              break
            case "RISKDEC":
              result.riskDec = riskDecision(item, reference)
              break
            case "SUBSCRIPTION":
              result.subscription = subscribed(item, reference)
              break
          }
        }
        return result satisfies ChainResult
      })

    const lookupAfterOutcomeUnknown: GatewayClient["Type"]["lookupAfterOutcomeUnknown"] = (orderreference) =>
      transactionQuery({ orderreference })

    const lookup = (
      input: { readonly orderreference: string },
      unknown:
        | ConnectionError.OutcomeUnknown
        | MalformedResponse
        | ReferenceMismatch
        | HttpStatusError
        | FinalStatusUnknown
    ): Effect.Effect<AuthOutcome, PaymentNotFound | ContactSupport | LookupFailed> => {
      const reference = unknown._tag === "ReferenceMismatch" ? unknown.sent : unknown.reference
      return lookupAfterOutcomeUnknown(input.orderreference).pipe(
        Effect.mapError((lookupError) =>
          new LookupFailed({
            orderreference: input.orderreference,
            reference,
            after: unknown._tag,
            lookupError: lookupError._tag,
            lookupMessage: lookupError.message
          })
        ),
        Effect.flatMap((result): Effect.Effect<AuthOutcome, PaymentNotFound | ContactSupport> => {
          // The payment is the AUTH with this order reference (a REFUND of it may share the order reference).
          const payments = result.records.filter((r) =>
            r.requesttypedescription === undefined || r.requesttypedescription === "AUTH"
          )
          const record = payments[payments.length - 1]
          if (record === undefined) {
            return Effect.fail(
              new PaymentNotFound({ orderreference: input.orderreference, reference, after: unknown._tag })
            )
          }
          const found = outcomeOf(record, result.reference, true)
          if (Option.isSome(found)) return Effect.succeed(found.value)
          // Still "not known" (60010/60034/99999) or any other state the client cannot read as an outcome.
          return Effect.fail(
            new ContactSupport({
              orderreference: input.orderreference,
              reference,
              code: record.errorcode ?? "unknown",
              transactionreference: record.transactionreference,
              after: unknown._tag
            })
          )
        }),
        Effect.tap(() =>
          Effect.logWarning("the payment's outcome was unknown; found it by its order reference").pipe(
            Effect.annotateLogs({ orderreference: input.orderreference, after: unknown._tag })
          )
        )
      )
    }

    const authOrLookup: GatewayClient["Type"]["authOrLookup"] = (input) =>
      auth(input).pipe(
        Effect.catchTags({
          OutcomeUnknown: (e) => lookup(input, e),
          MalformedResponse: (e) => lookup(input, e),
          ReferenceMismatch: (e) => lookup(input, e),
          FinalStatusUnknown: (e) => lookup(input, e),
          HttpStatusError: (e) => isOutcomeUnknown(e) ? lookup(input, e) : Effect.fail(e)
        })
      )

    return {
      send,
      auth,
      accountCheck,
      refund,
      transactionQuery,
      transactionUpdate,
      threeDQuery,
      riskDec,
      subscription,
      chain,
      lookupAfterOutcomeUnknown,
      authOrLookup
    } satisfies GatewayClient["Type"]
  })

/**
 * The client with credentials given in code.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  credentials: Credentials
): Layer.Layer<GatewayClient, never, ConnectionService.ConnectionService> =>
  Layer.effect(GatewayClient, make(credentials, { credentialsFrom: "code" }))

/**
 * The credentials from `Config`: `STPP_USERNAME`, `STPP_PASSWORD` (redacted) and the optional
 * `STPP_SITE_REFERENCE`.
 *
 * @since 0.1.0
 * @category config
 */
export const credentialsConfig: Config.Config<Credentials> = Config.all({
  username: Config.nonEmptyString("STPP_USERNAME"),
  password: Config.redacted("STPP_PASSWORD"),
  sitereference: Config.option(Config.nonEmptyString("STPP_SITE_REFERENCE"))
}).pipe(
  Config.map(({ password, sitereference, username }) => ({
    username,
    password,
    sitereference: Option.getOrUndefined(sitereference)
  }))
)

/**
 * The client with credentials read through `Config` (environment variables by default).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<GatewayClient, ConfigError.ConfigError, ConnectionService.ConnectionService> =
  Layer.effect(GatewayClient, Effect.flatMap(credentialsConfig, (c) => make(c, { credentialsFrom: "config" })))

// -----------------------------------------------------------------------------
// test layer
// -----------------------------------------------------------------------------

/**
 * One request item as the fake gateway saw it: card data masked or removed (`Redact.value`).
 *
 * @since 0.1.0
 * @category models
 */
export type SeenRequest = Readonly<Record<string, unknown>>

/**
 * Steers the fake gateway behind {@link layerTest}: what it answers, a connection failure for the
 * next call, and the requests it received.
 *
 * @since 0.1.0
 * @category tags
 */
export class TestGateway extends Context.Tag("@stpp/gateway/TestGateway")<TestGateway, {
  /**
   * How each request item is answered (the response item, without `requestreference`). The
   * default authorises everything: `errorcode` "0", a transaction reference, an auth code and the
   * masked PAN; TRANSACTIONQUERY answers with the payments recorded so far for its order reference.
   */
  readonly answerWith: (answer: (item: SeenRequest) => Readonly<Record<string, unknown>>) => Effect.Effect<void>
  /** The next call fails with this connection error (e.g. `OutcomeUnknown`) instead of an answer. */
  readonly failNext: (error: ConnectionError.RequestError) => Effect.Effect<void>
  /** Every request item received so far, in order (card data masked). */
  readonly requests: Effect.Effect<ReadonlyArray<SeenRequest>>
}>() {}

const TEST_CREDENTIALS: Credentials = {
  username: "test@example.test",
  password: Redacted.make("test-password"),
  sitereference: "test_site12345"
}

/**
 * The gateway client on a fake gateway, for apps' unit tests: no sockets, answers scripted with
 * `TestGateway`. (To test against the connection's own behaviour under `TestClock`, provide
 * {@link layer} with `ConnectionService.layerTest` instead.)
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest: Layer.Layer<GatewayClient | TestGateway> = Layer.unwrapEffect(Effect.sync(() => {
  const seen: Array<SeenRequest> = []
  const failures: Array<ConnectionError.RequestError> = []
  const payments = new Map<string, Readonly<Record<string, unknown>>>()
  let counter = 0
  const defaultAnswer = (item: SeenRequest): Readonly<Record<string, unknown>> => {
    const types = item.requesttypedescriptions
    const type = Array.isArray(types) ? String(types[0]) : "AUTH"
    if (type === "TRANSACTIONQUERY") {
      const filter = item.filter as { readonly orderreference?: ReadonlyArray<{ readonly value: string }> } | undefined
      const order = filter?.orderreference?.[0]?.value
      const found = order === undefined ? undefined : payments.get(order)
      return found === undefined
        ? { errorcode: "0", errormessage: "Ok", found: "0", records: [] }
        : { errorcode: "0", errormessage: "Ok", found: "1", records: [found] }
    }
    counter++
    const record = {
      errorcode: "0",
      errormessage: "Ok",
      requesttypedescription: type,
      transactionreference: `TEST-${counter}`,
      authcode: "TEST01",
      settlestatus: "0",
      maskedpan: typeof item.pan === "string" ? item.pan.replace(/\*/g, "#") : undefined,
      orderreference: item.orderreference
    }
    if (typeof item.orderreference === "string") payments.set(item.orderreference, record)
    return record
  }
  let answer = defaultAnswer
  const connection: ConnectionService.ConnectionService["Type"] = {
    endpoint: { host: "webservices.securetrading.test", port: 443 },
    request: (request) =>
      Effect.suspend(() => {
        const failure = failures.shift()
        if (failure !== undefined) return Effect.fail(failure)
        const envelope = JSON.parse(typeof request.body === "string" ? request.body : decoder.decode(request.body))
        const items = (Array.isArray(envelope.request) ? envelope.request : []).map((item: unknown) =>
          Redact.value(item) as SeenRequest
        )
        seen.push(...items)
        const body = JSON.stringify({
          requestreference: request.reference,
          version: "1.00",
          response: items.map((item: SeenRequest) => ({ ...answer(item), requestreference: request.reference }))
        })
        return Effect.succeed({
          status: 200,
          headers: { "content-type": "application/json" },
          body: new TextEncoder().encode(body),
          address: "127.0.0.1",
          attempts: 1,
          reused: false,
          elapsedMillis: 0
        })
      })
  }
  const controller: TestGateway["Type"] = {
    answerWith: (f) =>
      Effect.sync(() => {
        answer = f
      }),
    failNext: (error) => Effect.sync(() => void failures.push(error)),
    requests: Effect.sync(() => seen.slice())
  }
  return Layer.merge(
    layer(TEST_CREDENTIALS).pipe(Layer.provide(Layer.succeed(ConnectionService.ConnectionService, connection))),
    Layer.succeed(TestGateway, controller)
  )
}))

const decoder = new TextDecoder()
