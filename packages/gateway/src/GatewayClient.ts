/**
 * The typed Secure Trading JSON client: one service over `ConnectionService` that builds the
 * envelope, sends it with Basic auth and a fresh request reference, checks that the response
 * answers that reference, and turns the gateway's errorcodes into typed results and errors.
 *
 * @since 0.1.0
 */
import * as ConnectionConfig from "@stpp/connect/ConnectionConfig"
import type * as ConnectionError from "@stpp/connect/ConnectionError"
import * as ConnectionService from "@stpp/connect/ConnectionService"
import type * as RedactingLogger from "@stpp/connect/RedactingLogger"
import type * as TlsConnector from "@stpp/connect/TlsConnector"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type {
  AuthOrLookupError,
  ErrorCodeError,
  GatewayError,
  InvalidRequest as InvalidRequestT,
  ResponseError,
  TransportError,
  Unauthenticated as UnauthenticatedT
} from "./GatewayError.js"
import * as internalClient from "./internal/client.js"
import * as internalConfigPath from "./internal/configPath.js"
import * as internalErrorCode from "./internal/errorCode.js"
import * as internalResults from "./internal/results.js"
import * as internalTestGateway from "./internal/testGateway.js"
import * as internalWire from "./internal/wire.js"
import type * as Requests from "./Requests.js"
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
  /**
   * The variables the credentials were read from, named in an `Unauthenticated` error's advice
   * (`credentialsConfig` sets them, also under a `Config.nested` prefix).
   */
  readonly variables?: { readonly username: string; readonly password: string } | undefined
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
// constructors
// -----------------------------------------------------------------------------

/**
 * The `versioninfo` header, as the official libraries send it ("PHP::8.2::3.1.0::Linux ..."): the
 * runtime, its version, this library's version and the platform. It helps the gateway's support.
 *
 * @since 0.1.0
 * @category constructors
 */
export const VERSION_INFO: string = internalWire.VERSION_INFO

/**
 * The HTTP request for one envelope, as the gateway's JSON API wants it: POST, JSON in and out,
 * Basic auth, the request reference also as a `requestreference` header (the body carries it in
 * every item), and a `versioninfo` header naming library and runtime.
 *
 * @since 0.1.0
 * @category constructors
 */
export const wireRequest: (
  body: string,
  auth: { readonly username: string; readonly password: Redacted.Redacted<string> },
  reference: string
) => ConnectionService.GatewayRequest = internalWire.wireRequest

/**
 * A request reference as the official libraries make it: "A" and 8 random lowercase letters or
 * digits, from a cryptographically strong source (Web Crypto): it names the request in lookups
 * after an unknown outcome, so it must not collide or be guessable.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeReference: Effect.Effect<string> = internalWire.makeReference

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
): ErrorCodeError => internalErrorCode.codeError(item, reference, options.username, options.credentialsFrom ?? "config")

/** The result classes' constructors, handed to the internal machinery. */
const results: internalResults.Results = internalResults.make({
  Authorised,
  Declined,
  SoftDeclined,
  ThreeDQueried,
  RiskDecision,
  Subscribed
})

/**
 * How the client was given its credentials (named in an `Unauthenticated` error's advice).
 *
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions {
  /** "code" (the default: credentials given as values) or "config" (STPP_USERNAME / STPP_PASSWORD). */
  readonly credentialsFrom?: "config" | "code" | undefined
}

/**
 * Builds the client over the `ConnectionService` in context. Credentials given here are reported
 * as given in code when the gateway rejects them (`credentialsFrom: "config"` to name the
 * environment variables instead).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  credentials: Credentials,
  options: MakeOptions = {}
): Effect.Effect<GatewayClient["Type"], never, ConnectionService.ConnectionService> =>
  Effect.map(ConnectionService.ConnectionService, (connection) =>
    internalClient.make({
      connection,
      username: credentials.username,
      password: credentials.password,
      credentialsFrom: options.credentialsFrom ?? "code",
      variables: credentials.variables,
      sitereference: credentials.sitereference,
      results
    }))

// -----------------------------------------------------------------------------
// layers
// -----------------------------------------------------------------------------

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
 * `STPP_SITE_REFERENCE`. Under `Config.nested(credentialsConfig, "MERCHANT_B")` it reads
 * `MERCHANT_B_STPP_USERNAME`, ... and a rejected user's advice names those variables, as the
 * `ConfigProvider` in use names them (its own prefix, `constantCase` and path delimiter included).
 *
 * @since 0.1.0
 * @category config
 */
export const credentialsConfig: Config.Config<Credentials> = Config.all({
  username: Config.nonEmptyString("STPP_USERNAME"),
  password: Config.redacted("STPP_PASSWORD"),
  sitereference: Config.option(Config.nonEmptyString("STPP_SITE_REFERENCE")),
  usernameVariable: internalConfigPath.variableName("STPP_USERNAME"),
  passwordVariable: internalConfigPath.variableName("STPP_PASSWORD")
}).pipe(
  Config.map(({ password, passwordVariable, sitereference, username, usernameVariable }) => ({
    username,
    password,
    sitereference: Option.getOrUndefined(sitereference),
    variables: { username: usernameVariable, password: passwordVariable }
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
// several clients: one per merchant or region (E1)
// -----------------------------------------------------------------------------

/**
 * One client's own connection settings and credentials, given in code.
 *
 * @since 0.1.0
 * @category models
 */
export interface WithOptions {
  /** Validated as `ConnectionConfig.make` does; unnamed settings take their defaults. */
  readonly connection: ConnectionConfig.ConnectionSettingsInput
  readonly credentials: Credentials
}

/**
 * One client's own connection settings and credentials, read through `Config` (e.g. under a
 * prefix with `Config.nested`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigOptions {
  readonly connection: Config.Config<ConnectionConfig.ConnectionSettings>
  readonly credentials: Config.Config<Credentials>
}

/**
 * How building a client with its own connection can fail.
 *
 * @since 0.1.0
 * @category models
 */
export type LayerError = ConfigError.ConfigError | TlsConnector.TrustStoreError | RedactingLogger.LiveDebugRefused

/**
 * A client with its own connection (its own Resolver, TlsConnector, retry policy and pool), as a
 * value in the current `Scope`, to bind to the app's own tag. Log lines go to the loggers in place
 * where it is built (see `ConnectionService.makeWith`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeWith = (
  options: WithOptions
): Effect.Effect<GatewayClient["Type"], ConfigError.ConfigError | TlsConnector.TrustStoreError, Scope.Scope> =>
  Effect.flatMap(ConnectionConfig.make(options.connection), ConnectionService.makeWith).pipe(
    Effect.flatMap((connection) =>
      Effect.provideService(make(options.credentials), ConnectionService.ConnectionService, connection)
    )
  )

/**
 * The client with its own connection, both from values in code, as `PgClient.layer(config)` does:
 * each call is a new layer (a new connection and pool), so two calls provided in one app are two
 * clients that Effect's layer memoisation can never merge. Installs the redacting logger as
 * `ConnectionService.layerWith` does.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options: WithOptions): Layer.Layer<GatewayClient, LayerError> =>
  layer(options.credentials).pipe(Layer.provide(ConnectionService.layerWith(options.connection)))

/**
 * The client with its own connection, both read through `Config`; a new layer per call.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfigWith = (options: ConfigOptions): Layer.Layer<GatewayClient, LayerError> =>
  Layer.effect(GatewayClient, Effect.flatMap(options.credentials, (c) => make(c, { credentialsFrom: "config" }))).pipe(
    Layer.provide(ConnectionService.layerConfig(options.connection))
  )

/**
 * The class {@link Tag} returns: a `Context.Tag` holding a client, with its layers.
 *
 * @since 0.1.0
 * @category models
 */
export interface TagClass<Self, Id extends string> extends Context.TagClass<Self, Id, GatewayClient["Type"]> {
  /** This tag's client from values in code ({@link layerWith}); a new layer per call. */
  readonly layer: (options: WithOptions) => Layer.Layer<Self, LayerError>
  /** This tag's client read through `Config` ({@link layerConfigWith}); a new layer per call. */
  readonly layerConfig: (options: ConfigOptions) => Layer.Layer<Self, LayerError>
}

/**
 * A tag of the app's own for one client, one per merchant or region, as `Context.Tag` makes
 * them: the class is the tag, its `layer` and `layerConfig` build that tag's client with its own
 * connection, and code asks for `yield* MerchantA`.
 *
 * @example
 * ```ts
 * import { GatewayClient } from "@stpp/gateway"
 * import * as Config from "effect/Config"
 * import { ConnectionConfig } from "@stpp/connect"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import * as Redacted from "effect/Redacted"
 *
 * class MerchantA extends GatewayClient.Tag("app/MerchantA")<MerchantA>() {}
 * class MerchantB extends GatewayClient.Tag("app/MerchantB")<MerchantB>() {}
 *
 * const App = Layer.mergeAll(
 *   MerchantA.layer({
 *     connection: { url: ConnectionConfig.EU_URL },
 *     credentials: { username: "ws-a@example.com", password: Redacted.make("...") }
 *   }),
 *   // MERCHANT_B_STPP_URL, MERCHANT_B_STPP_USERNAME, MERCHANT_B_STPP_PASSWORD, ...
 *   MerchantB.layerConfig({
 *     connection: Config.nested(ConnectionConfig.config, "MERCHANT_B"),
 *     credentials: Config.nested(GatewayClient.credentialsConfig, "MERCHANT_B")
 *   })
 * )
 *
 * const program = Effect.gen(function*() {
 *   const a = yield* MerchantA
 *   const b = yield* MerchantB
 *   return [a, b] as const
 * })
 * const runnable: Effect.Effect<unknown, GatewayClient.LayerError> = Effect.provide(program, App)
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export const Tag = <const Id extends string>(id: Id) => <Self>(): TagClass<Self, Id> => {
  const tag = Context.Tag(id)<Self, GatewayClient["Type"]>()
  return Object.assign(tag, {
    layer: (options: WithOptions) => Layer.effect(tag, GatewayClient).pipe(Layer.provide(layerWith(options))),
    layerConfig: (options: ConfigOptions) =>
      Layer.effect(tag, GatewayClient).pipe(Layer.provide(layerConfigWith(options)))
  })
}

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
  const { connection, controller } = internalTestGateway.make()
  return Layer.merge(
    layer(TEST_CREDENTIALS).pipe(Layer.provide(Layer.succeed(ConnectionService.ConnectionService, connection))),
    Layer.succeed(TestGateway, controller)
  )
}))
