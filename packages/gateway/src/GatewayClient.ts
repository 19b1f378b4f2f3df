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
  GatewayFailure,
  HttpStatusError,
  InvalidField,
  InvalidRequest,
  isOutcomeUnknown,
  LookupFailed,
  MalformedResponse,
  PaymentNotFound,
  ReferenceMismatch,
  safeGatewayText,
  Unauthenticated,
  UpstreamUnavailable
} from "./GatewayError.js"
import type {
  AuthOrLookupError,
  ErrorCodeError,
  GatewayError,
  InvalidRequest as InvalidRequestT,
  ResponseError,
  TransportError
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
 * @since 0.1.0
 * @category results
 */
export type AuthOutcome = Authorised | Declined

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
  /** Sends one envelope; the answer is checked for its reference and shape, not its errorcodes. */
  readonly send: (
    requests: readonly [Requests.Request, ...Array<Requests.Request>]
  ) => Effect.Effect<Sent, InvalidRequestT | TransportError | ResponseError>
  /** AUTH: a decline is a `Declined` result; an unknown outcome fails with `OutcomeUnknown` (see `authOrLookup`). */
  readonly auth: (input: AuthInput) => Effect.Effect<AuthOutcome, GatewayError>
  /** ACCOUNTCHECK: a decline is a `Declined` result. */
  readonly accountCheck: (input: Input<Requests.AccountCheck>) => Effect.Effect<AuthOutcome, GatewayError>
  readonly refund: (input: Input<Requests.Refund>) => Effect.Effect<Responses.ResponseItem, GatewayError>
  /** TRANSACTIONQUERY; the configured site reference is added to the filter when it has none. */
  readonly transactionQuery: (filter: Requests.Filter) => Effect.Effect<QueryResult, GatewayError>
  readonly transactionUpdate: (
    input: Omit<Requests.TransactionUpdate, "requesttypedescriptions">
  ) => Effect.Effect<Responses.ResponseItem, GatewayError>
  /** Finds a payment by the merchant's order reference after its outcome was unknown. */
  readonly lookupAfterOutcomeUnknown: (orderreference: string) => Effect.Effect<QueryResult, GatewayError>
  /**
   * AUTH, and if its outcome is unknown (the request was sent but no usable answer came back), a
   * TRANSACTIONQUERY by its order reference instead of a second AUTH: the caller gets the payment's
   * real outcome (`recovered: true`), `PaymentNotFound` or `LookupFailed`, never a double charge.
   */
  readonly authOrLookup: (
    input: AuthInput & { readonly orderreference: string }
  ) => Effect.Effect<AuthOutcome, AuthOrLookupError>
}>() {}

// -----------------------------------------------------------------------------
// helpers
// -----------------------------------------------------------------------------

/**
 * The HTTP request for one envelope, as the gateway's JSON API wants it: POST, JSON in and out,
 * Basic auth, and the request reference also as a `requestreference` header.
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
    "requestreference": reference
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

const requestTypeOf = (item: Responses.ResponseItem): string | undefined => item.requesttypedescription

/** Maps a non-zero, non-decline errorcode to its error. */
const codeError = (
  item: Responses.ResponseItem,
  reference: string,
  username: string
): ErrorCodeError => {
  const code = item.errorcode
  if (code === Responses.INVALID_FIELD) {
    return new InvalidField({
      code,
      field: item.errordata !== undefined && item.errordata.length > 0 ? item.errordata.join(", ") : "unknown",
      requestType: requestTypeOf(item),
      reference
    })
  }
  if (code === Responses.UNAUTHENTICATED) return new Unauthenticated({ code, username, reference })
  if (Responses.isUpstreamCode(code)) {
    return new UpstreamUnavailable({ code, requestType: requestTypeOf(item), reference })
  }
  return new GatewayFailure({
    code,
    errormessage: safeGatewayText(item.errormessage ?? ""),
    requestType: requestTypeOf(item),
    reference
  })
}

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
  return Option.none()
}

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

/**
 * Builds the client over the `ConnectionService` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  credentials: Credentials
): Effect.Effect<GatewayClient["Type"], never, ConnectionService.ConnectionService> =>
  Effect.gen(function*() {
    const connection = yield* ConnectionService.ConnectionService
    const { password, username } = credentials
    const basicAuth = { username, password }

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
    ): Effect.Effect<Sent, InvalidRequestT | TransportError | ResponseError> =>
      Effect.gen(function*() {
        const body = yield* Envelope.encode(Envelope.make(username, requests)).pipe(
          Effect.mapError((error) => new InvalidRequest({ fields: pathsOf(error), reference }))
        )
        const response = yield* connection.request(wireRequest(body, basicAuth, reference))
        const { address } = response
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
        if (envelope.response.length !== requests.length) {
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
          attributes: { reference, requestTypes: requests.map((r) => r.requesttypedescriptions[0]).join(",") }
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
          : Effect.fail(codeError(item, reference, username))
      })

    const authLike = (
      type: "AUTH" | "ACCOUNTCHECK",
      input: AuthInput
    ): Effect.Effect<AuthOutcome, GatewayError> =>
      Effect.gen(function*() {
        const reference = yield* makeReference
        const full = yield* withSite(input, reference)
        const request = { ...full, requesttypedescriptions: [type] } as Requests.Auth | Requests.AccountCheck
        const item = yield* one(reference, request, [Responses.OK, Responses.DECLINE])
        return Option.getOrThrow(outcomeOf(item, reference, false))
      })

    const auth: GatewayClient["Type"]["auth"] = (input) => authLike("AUTH", input)

    const accountCheck: GatewayClient["Type"]["accountCheck"] = (input) => authLike("ACCOUNTCHECK", input)

    const refund: GatewayClient["Type"]["refund"] = (input) =>
      Effect.gen(function*() {
        const reference = yield* makeReference
        const full = yield* withSite(input, reference)
        return yield* one(reference, { ...full, requesttypedescriptions: ["REFUND"] })
      })

    const transactionQuery: GatewayClient["Type"]["transactionQuery"] = (filter) =>
      Effect.gen(function*() {
        const reference = yield* makeReference
        const withSiteFilter: Requests.Filter = filter.sitereference === undefined &&
            credentials.sitereference !== undefined
          ? { ...filter, sitereference: Requests.filterValue(credentials.sitereference) }
          : filter
        const item = yield* one(reference, { requesttypedescriptions: ["TRANSACTIONQUERY"], filter: withSiteFilter })
        const records = item.records ?? []
        const found = item.found !== undefined && /^\d+$/.test(item.found) ? Number(item.found) : records.length
        return { found, records, reference } satisfies QueryResult
      })

    const transactionUpdate: GatewayClient["Type"]["transactionUpdate"] = (input) =>
      Effect.gen(function*() {
        const reference = yield* makeReference
        return yield* one(reference, { ...input, requesttypedescriptions: ["TRANSACTIONUPDATE"] })
      })

    const lookupAfterOutcomeUnknown: GatewayClient["Type"]["lookupAfterOutcomeUnknown"] = (orderreference) =>
      transactionQuery({ orderreference: Requests.filterValue(orderreference) })

    const lookup = (
      input: { readonly orderreference: string },
      unknown: ConnectionError.OutcomeUnknown | MalformedResponse | ReferenceMismatch | HttpStatusError
    ): Effect.Effect<AuthOutcome, PaymentNotFound | LookupFailed> => {
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
        Effect.flatMap((result) => {
          // The payment is the AUTH with this order reference (a REFUND of it may share the order reference).
          const payments = result.records.filter((r) =>
            r.requesttypedescription === undefined || r.requesttypedescription === "AUTH"
          )
          const found = payments.length > 0 ? outcomeOf(payments[0], result.reference, true) : Option.none()
          return Option.match(found, {
            onNone: () =>
              Effect.fail(
                new PaymentNotFound({ orderreference: input.orderreference, reference, after: unknown._tag })
              ),
            onSome: Effect.succeed
          })
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
  Layer.effect(GatewayClient, make(credentials))

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
  Layer.effect(GatewayClient, Effect.flatMap(credentialsConfig, make))

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
