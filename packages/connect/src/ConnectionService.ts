/**
 * The one service applications use: DNS (Resolver), verified TLS (TlsConnector), the retry policy
 * and the redacting logger composed into a request path that never sends a payment twice.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import * as ConnectionConfig from "./ConnectionConfig.js"
import type { RequestError } from "./ConnectionError.js"
import * as ConnectPhase from "./internal/connectPhase.js"
import * as Exchange from "./internal/exchange.js"
import * as Metrics from "./internal/metrics.js"
import * as Pool from "./internal/pool.js"
import * as Emit from "./internal/redact/emit.js"
import { RetryBudget } from "./internal/retryBudget.js"
import * as Redact from "./Redact.js"
import * as RedactingLogger from "./RedactingLogger.js"
import * as Resolver from "./Resolver.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as TlsConnector from "./TlsConnector.js"

/**
 * One HTTP request to the gateway.
 *
 * @since 0.1.0
 * @category models
 */
export interface GatewayRequest {
  /** Default "POST". */
  readonly method?: "POST" | "GET" | undefined
  /** Path relative to the configured url's origin; default: the url's own path. */
  readonly path?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly body?: Uint8Array | string | undefined
  /** HTTP Basic auth; sent as an Authorization header, never logged. */
  readonly auth?: { readonly username: string; readonly password: Redacted.Redacted<string> } | undefined
  /** The request's own reference (e.g. Secure Trading's requestreference), carried into errors and logs. */
  readonly reference?: string | undefined
}

/**
 * The whole response, with what the connection knows about how it was obtained.
 *
 * @since 0.1.0
 * @category models
 */
export interface GatewayResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
  /** The address the request went to. */
  readonly address: string
  /** Connect attempts made for this request (0 when a kept-alive connection was reused). */
  readonly attempts: number
  /** Whether a kept-alive connection was reused. */
  readonly reused: boolean
  readonly elapsedMillis: number
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ConnectionService extends Context.Tag("@stpp/connect/ConnectionService")<ConnectionService, {
  /**
   * Sends one request and returns the whole response. Connect failures are retried by the policy;
   * once a request byte is written nothing is retried (`OutcomeUnknown`).
   */
  readonly request: (request: GatewayRequest) => Effect.Effect<GatewayResponse, RequestError>
  /** The gateway host and port this service talks to. */
  readonly endpoint: { readonly host: string; readonly port: number }
  /**
   * How card numbers are masked in what this service writes (`STPP_PAN_MASK`); code built on the
   * service (the gateway client) masks its own log lines and spans the same way. Absent: the default.
   */
  readonly panMask?: ConnectionConfig.PanMask | undefined
}>() {}

// -----------------------------------------------------------------------------
// metrics
// -----------------------------------------------------------------------------

/**
 * The service's metrics, for an app's metrics exporter: `attempts`, `retries` (by `reason`),
 * `requests` (by `outcome`), `retired` (by `reason`), `connectLatency` and `requestLatency` (ms),
 * `dnsHedges` (DNS queries sent to a further server while one was still open), `dnsHedgeWins`
 * (lookups such a query answered) and `tlsResumed` (new connections that resumed a TLS session, P3).
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics = Metrics.metrics

// -----------------------------------------------------------------------------
// the live service
// -----------------------------------------------------------------------------

/**
 * Builds the service from its parts. The pool lives in the layer's scope: closing it closes every
 * connection.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<
  ConnectionService["Type"],
  never,
  | ConnectionConfig.ConnectionConfig
  | Resolver.Resolver
  | TlsConnector.TlsConnector
  | RetryPolicy.RetryPolicy
  | Scope.Scope
> = Effect.gen(function*() {
  const settings = yield* ConnectionConfig.ConnectionConfig
  const resolver = yield* Resolver.Resolver
  const connector = yield* TlsConnector.TlsConnector
  const policy = yield* RetryPolicy.RetryPolicy
  // The loggers (the redacting logger among them) in place when the service is built serve every
  // log line the service writes, however the app provides the layer (L2).
  const loggers = yield* FiberRef.get(FiberRef.currentLoggers)
  const minimumLevel = yield* FiberRef.get(FiberRef.currentMinimumLogLevel)
  // Debug lines (and their annotations) are only built when they would be written.
  const debugOn = LogLevel.lessThanEqual(minimumLevel, LogLevel.Debug)
  // Everything the service writes is redacted here, at the source, with the configured mask (E2).
  const redact = Emit.optionsOf(settings.panMask)
  const logDebug: Pool.LogDebug = (message, annotations) =>
    debugOn ? Emit.log(LogLevel.Debug, message, annotations, redact) : Effect.void
  const endpoint = ConnectionConfig.endpoint(settings)
  const { host, port } = endpoint
  const pool = yield* Pool.make({
    maxSockets: settings.maxSockets,
    keepAliveIdleMillis: Duration.toMillis(settings.keepAliveIdle),
    maxResponseBytes: settings.maxResponseBytes,
    origin: new URL(`https://${host.includes(":") ? `[${host}]` : host}${port === 443 ? "" : `:${port}`}`),
    logDebug
  })
  const connect = ConnectPhase.make({
    host,
    port,
    keepAliveMaxRequests: settings.keepAliveMaxRequests,
    resolver,
    connector,
    policy,
    // one budget for all requests of this service (U1)
    budget: new RetryBudget({
      capacity: settings.retryBudget,
      cost: settings.retryBudgetCost,
      timeoutCost: settings.retryBudgetTimeoutCost,
      refund: settings.retryBudgetRefund,
      probes: settings.retryBudgetProbes,
      probeDelayMillis: Duration.toMillis(policy.settings.retryBaseDelay)
    }),
    pool,
    logDebug
  })
  const wiring: Exchange.Wiring = {
    host,
    defaultPath: `${settings.url.pathname}${settings.url.search}`,
    ioTimeoutMillis: Duration.toMillis(settings.ioTimeout),
    maxSockets: settings.maxSockets,
    maxRetries: policy.settings.maxRetries,
    latestStartMillis: Duration.toMillis(RetryPolicy.latestStart(policy.settings)),
    retryTimeoutMillis: Duration.toMillis(policy.settings.retryTimeout),
    pool,
    connect,
    logDebug,
    redact
  }

  const request = (input: GatewayRequest): Effect.Effect<GatewayResponse, RequestError> =>
    Effect.withFiberRuntime((fiber) => {
      // The caller's reference goes into errors, log lines and the span: redacted once, here.
      const request = safeReference(input, redact)
      const services = fiber.getFiberRef(DefaultServices.currentServices)
      const clock = Context.get(services, Clock.Clock)
      // The request span is made only when a tracer that keeps spans is installed: under Effect's
      // built-in tracer nobody can see it, and it is the largest single cost of a warm request.
      const traced = fiber.getFiberRef(FiberRef.currentTracerEnabled) &&
        RedactingLogger.recordsSpans(Context.get(services, Tracer.Tracer))
      // The loggers and level in place when the service was built serve every line it writes (L2).
      const sameLoggers = fiber.getFiberRef(FiberRef.currentLoggers) === loggers
      const sameLevel = fiber.getFiberRef(FiberRef.currentMinimumLogLevel) === minimumLevel
      // The warm path needs no span to make and the service's logging already in place.
      let out = Exchange.run(
        wiring,
        request,
        clock,
        traced,
        !traced && sameLoggers && sameLevel,
        fiber.getFiberRef(FiberRef.currentMetricLabels)
      )
      if (!sameLevel) out = Effect.locally(out, FiberRef.currentMinimumLogLevel, minimumLevel)
      if (!sameLoggers) out = Effect.locally(out, FiberRef.currentLoggers, loggers)
      return traced
        ? Emit.withSpan(out, "stpp.request", { "stpp.host": host, "stpp.reference": request.reference ?? "" }, redact)
        : out
    })

  return { request, endpoint, panMask: settings.panMask }
})

/** The request with its reference redacted; the same object when there was nothing to redact. */
const safeReference = (request: GatewayRequest, options: Redact.Options): GatewayRequest => {
  const reference = request.reference
  if (reference === undefined) return request
  const safe = Redact.string(reference, options)
  return safe === reference ? request : { ...request, reference: safe }
}

/**
 * The service from validated settings, as a value in the current `Scope`: its own Resolver,
 * TlsConnector and RetryPolicy are built here from `settings`, so every call is a separate service
 * (its own DNS cache, trust store and pool). For an app that holds several (one per merchant or
 * region) under its own tags:
 *
 * ```ts
 * import { ConnectionConfig, ConnectionService } from "@stpp/connect"
 * import * as Context from "effect/Context"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 *
 * class Eu extends Context.Tag("app/Eu")<Eu, ConnectionService.ConnectionService["Type"]>() {}
 * const EuLive = Layer.scoped(
 *   Eu,
 *   Effect.flatMap(ConnectionConfig.make({ url: ConnectionConfig.EU_URL }), ConnectionService.makeWith)
 * )
 * ```
 *
 * Log lines go to the loggers in place where it is built; `layerWith` and `layerConfig` install
 * the redacting logger first, as `layer` does.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeWith = (
  settings: ConnectionConfig.ConnectionSettings
): Effect.Effect<ConnectionService["Type"], TlsConnector.TrustStoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const withSettings = Effect.provideService(ConnectionConfig.ConnectionConfig, settings)
    const resolver = yield* withSettings(Resolver.make)
    const connector = yield* withSettings(TlsConnector.make)
    const parts = Context.make(ConnectionConfig.ConnectionConfig, settings).pipe(
      Context.add(Resolver.Resolver, resolver),
      Context.add(TlsConnector.TlsConnector, connector),
      Context.add(RetryPolicy.RetryPolicy, RetryPolicy.make(RetryPolicy.settingsFrom(settings)))
    )
    return yield* Effect.provide(make, parts)
  })

// A new layer value per call: Effect memoises layers by reference, so a shared value (as
// `layerWithoutConfig` is) built beside another configuration would be built once for both (E1).
const live = (): Layer.Layer<
  ConnectionService,
  TlsConnector.TrustStoreError | RedactingLogger.LiveDebugRefused,
  ConnectionConfig.ConnectionConfig
> =>
  Layer.scoped(ConnectionService, Effect.flatMap(ConnectionConfig.ConnectionConfig, makeWith)).pipe(
    Layer.provideMerge(RedactingLogger.layerWith({}))
  )

/**
 * The live service from the `ConnectionConfig` in context: the live Resolver, TlsConnector, retry
 * policy and the redacting logger (installed here so nobody has to remember it: L2).
 *
 * This is one layer value, built once per app however often it is provided: for a second
 * configuration beside the first use `layerWith` or `layerConfig`, which make a new layer per call.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutConfig: Layer.Layer<
  ConnectionService,
  TlsConnector.TrustStoreError | RedactingLogger.LiveDebugRefused,
  ConnectionConfig.ConnectionConfig
> = live()

/**
 * The live service with settings given in code (validated; the rest take their defaults), as
 * `PgClient.layer(config)` does. Each call is a new layer with its own Resolver, TlsConnector,
 * retry policy and pool: two calls are two services even when both are provided in one app.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (
  settings: ConnectionConfig.ConnectionSettingsInput
): Layer.Layer<
  ConnectionService,
  ConfigError.ConfigError | TlsConnector.TrustStoreError | RedactingLogger.LiveDebugRefused
> => live().pipe(Layer.provide(Layer.effect(ConnectionConfig.ConnectionConfig, ConnectionConfig.make(settings))))

/**
 * The live service with settings read through the given `Config`, as `PgClient.layerConfig`
 * does; a new layer per call. One merchant's settings under a prefix of the environment:
 * `ConnectionService.layerConfig(Config.nested(ConnectionConfig.config, "MERCHANT_B"))` reads
 * `MERCHANT_B_STPP_URL`, `MERCHANT_B_STPP_CA_FILE`, ...
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config<ConnectionConfig.ConnectionSettings>
): Layer.Layer<
  ConnectionService,
  ConfigError.ConfigError | TlsConnector.TrustStoreError | RedactingLogger.LiveDebugRefused
> => live().pipe(Layer.provide(Layer.effect(ConnectionConfig.ConnectionConfig, config)))

/**
 * The live service with settings read through `Config` (`STPP_*` environment variables).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  ConnectionService,
  ConfigError.ConfigError | TlsConnector.TrustStoreError | RedactingLogger.LiveDebugRefused
> = layerWithoutConfig.pipe(Layer.provide(ConnectionConfig.layerConfig))

/**
 * The whole service on fake DNS and fake TLS (C2): scripted with `TestResolver` and
 * `TestTlsConnector`, logs captured by `TestRedactingLogger`, time driven by `TestClock`. The retry
 * policy is the real one from `ConnectionConfig`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest = (
  options: { readonly resolver?: Resolver.TestOptions | undefined } = {}
): Layer.Layer<
  | ConnectionService
  | Resolver.TestResolver
  | TlsConnector.TestTlsConnector
  | RedactingLogger.TestRedactingLogger,
  RedactingLogger.LiveDebugRefused,
  ConnectionConfig.ConnectionConfig
> =>
  Layer.scoped(ConnectionService, make).pipe(
    Layer.provideMerge(
      Layer.mergeAll(Resolver.layerTest(options.resolver ?? {}), TlsConnector.layerTest, RetryPolicy.layer)
    ),
    Layer.provideMerge(RedactingLogger.layerTest)
  )
