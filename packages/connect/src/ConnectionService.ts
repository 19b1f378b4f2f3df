/**
 * The one service applications use: DNS (Resolver), verified TLS (TlsConnector), the retry policy
 * and the redacting logger composed into a request path that never sends a payment twice.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as ConnectionConfig from "./ConnectionConfig.js"
import { NotSent, OutcomeUnknown, Refused, type RequestError } from "./ConnectionError.js"
import * as Http from "./internal/http.js"
import * as Permits from "./internal/permits.js"
import * as Pool from "./internal/pool.js"
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
}>() {}

// -----------------------------------------------------------------------------
// metrics
// -----------------------------------------------------------------------------

/**
 * The service's metrics, for an app's metrics exporter.
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics = {
  /** Connect attempts made (each TCP + TLS handshake tried). */
  attempts: Metric.counter("stpp_connect_attempts_total", { incremental: true }),
  /** Connect attempts that failed and were retried, tagged by `reason` (the error's tag). */
  retries: Metric.counter("stpp_connect_retries_total", { incremental: true }),
  /** Requests by `outcome`: ok, not_sent, refused, outcome_unknown. */
  requests: Metric.counter("stpp_requests_total", { incremental: true }),
  /** Connections retired, tagged by `reason` (dns-ttl-expired, idle, closed, max-requests, failed). */
  retired: Metric.counter("stpp_connections_retired_total", { incremental: true }),
  /** Connect phase duration for a new connection, ms. */
  connectLatency: Metric.histogram(
    "stpp_connect_duration_ms",
    MetricBoundaries.exponential({ start: 1, factor: 2, count: 17 })
  ),
  /** Whole request duration, ms. */
  requestLatency: Metric.histogram(
    "stpp_request_duration_ms",
    MetricBoundaries.exponential({ start: 1, factor: 2, count: 17 })
  )
}

// -----------------------------------------------------------------------------
// the live service
// -----------------------------------------------------------------------------

type ConnectFailure = Resolver.DnsError | TlsConnector.TlsConnectError

const isConnectRetryable = (e: ConnectFailure): boolean => Resolver.isDnsError(e) ? true : TlsConnector.isRetryable(e)

const errorMessage = (e: unknown): string =>
  Redact.string(typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e))

type Built = Http.Built

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
  const layerScope = yield* Effect.scope
  // The loggers (the redacting logger among them) in place when the service is built serve every
  // log line the service writes, however the app provides the layer (L2).
  const loggers = yield* FiberRef.get(FiberRef.currentLoggers)
  const minimumLevel = yield* FiberRef.get(FiberRef.currentMinimumLogLevel)
  const withOwnLogging = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.flatMap(FiberRef.get(FiberRef.currentLoggers), (current) =>
      current === loggers
        ? Effect.locally(effect, FiberRef.currentMinimumLogLevel, minimumLevel)
        : effect.pipe(
          Effect.locally(FiberRef.currentLoggers, loggers),
          Effect.locally(FiberRef.currentMinimumLogLevel, minimumLevel)
        ))
  // Debug lines (and their annotations) are only built when they would be written.
  const debugOn = LogLevel.lessThanEqual(minimumLevel, LogLevel.Debug)
  const logDebug = (message: string, annotations: Record<string, unknown>) =>
    debugOn ? Effect.annotateLogs(Effect.logDebug(message), annotations) : Effect.void
  const outcomeCounters = {
    ok: Metric.tagged(metrics.requests, "outcome", "ok"),
    not_sent: Metric.tagged(metrics.requests, "outcome", "not_sent"),
    refused: Metric.tagged(metrics.requests, "outcome", "refused"),
    outcome_unknown: Metric.tagged(metrics.requests, "outcome", "outcome_unknown")
  }
  const endpoint = ConnectionConfig.endpoint(settings)
  const { host, port } = endpoint
  const origin = `https://${host.includes(":") ? `[${host}]` : host}${port === 443 ? "" : `:${port}`}`
  const limits: Pool.Limits = {
    keepAliveIdleMillis: Duration.toMillis(settings.keepAliveIdle),
    keepAliveMaxRequests: settings.keepAliveMaxRequests
  }
  const latestStartMillis = Duration.toMillis(RetryPolicy.latestStart(policy.settings))
  const permits = Permits.make(settings.maxSockets)
  const idle: Array<Pool.Pooled> = []
  const open = new Set<Pool.Pooled>()

  const retire = (p: Pool.Pooled, reason: string) =>
    Effect.suspend(() => {
      if (!open.delete(p)) return Effect.void
      const i = idle.indexOf(p)
      if (i >= 0) idle.splice(i, 1)
      return Pool.close(p).pipe(
        Effect.zipRight(Metric.increment(Metric.tagged(metrics.retired, "reason", reason))),
        Effect.zipRight(
          logDebug("connection retired", { connection: p.id, address: p.address, reason, requests: p.requests })
        )
      )
    })

  // One housekeeping sweep on Clock (so TestClock drives it), every tick:
  // - the send/receive time-out (STPP_IO_TIMEOUT): requests in flight past their deadline are
  //   aborted, within one tick of it; one sweep rather than a timer race per request, which cost a
  //   third of the throughput;
  // - idle connections whose DNS answer expired (D2), or that idled too long, are closed even when
  //   no request comes to notice.
  const ioTimeoutMillis = Duration.toMillis(settings.ioTimeout)
  const inFlight = new Set<{ readonly deadline: number; readonly expire: () => void }>()
  const tick = Duration.millis(Math.max(5, Math.min(100, Math.floor(ioTimeoutMillis / 10))))
  const housekeeping = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    for (const entry of inFlight) {
      if (now >= entry.deadline) {
        inFlight.delete(entry)
        entry.expire()
      }
    }
    for (const p of [...idle]) {
      const reason = Pool.staleReason(p, now, limits)
      if (reason !== undefined) yield* retire(p, reason)
    }
  })
  yield* Effect.forkIn(Effect.repeat(housekeeping, Schedule.spaced(tick)), layerScope)
  yield* Effect.addFinalizer(() =>
    Effect.forEach([...open], (p) => Pool.close(p), { discard: true }).pipe(
      Effect.tap(() => Effect.sync(() => open.clear()))
    )
  )

  /** An idle connection that may be reused now, if any (most recently used first). */
  const takeIdle = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    while (idle.length > 0) {
      const p = idle.pop()!
      const reason = Pool.staleReason(p, now, limits)
      if (reason === undefined) return p
      yield* retire(p, reason)
    }
    return undefined
  })

  /** One connect attempt: resolve, then TCP + verified TLS to the address DNS names now. */
  const connectOnce = (state: { attempts: number; address: string | undefined }) =>
    Effect.gen(function*() {
      state.attempts++
      yield* Metric.increment(metrics.attempts)
      const answer = yield* resolver.resolve(host)
      const address = answer.addresses[0]
      state.address = address
      const scope = yield* Scope.fork(layerScope, ExecutionStrategy.sequential)
      const connection = yield* connector.connect({ address, port, servername: host }).pipe(
        Scope.extend(scope),
        Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
      )
      const now = yield* Clock.currentTimeMillis
      const pooled = Pool.wrap(connection, scope, origin, answer.expiresAt, now)
      open.add(pooled)
      return pooled
    }).pipe(
      Effect.tapError((e) =>
        logDebug("connect attempt failed", { attempt: state.attempts, address: state.address ?? "-", error: e._tag })
          .pipe(Effect.zipRight(
            isConnectRetryable(e)
              // the load balancer may already name another address: ask DNS again next time
              ? resolver.invalidate(host).pipe(
                Effect.zipRight(Metric.increment(Metric.tagged(metrics.retries, "reason", e._tag)))
              )
              : Effect.void
          ))
      ),
      Effect.withSpan("stpp.connect", { attributes: { "stpp.attempt": state.attempts } })
    )

  const connectPhase = (state: { attempts: number; address: string | undefined }, reference: string | undefined) =>
    Effect.gen(function*() {
      const t0 = yield* Clock.currentTimeMillis
      const result = yield* RetryPolicy.retry(connectOnce(state), isConnectRetryable).pipe(
        Effect.provideService(RetryPolicy.RetryPolicy, policy),
        Effect.either
      )
      const t1 = yield* Clock.currentTimeMillis
      if (Either.isRight(result)) {
        yield* Metric.update(metrics.connectLatency, t1 - t0)
        return result.right
      }
      const e = result.left
      if (TlsConnector.isVerificationError(e)) {
        return yield* Effect.fail(
          new Refused({
            host,
            address: state.address ?? "-",
            reason: e._tag,
            detail: errorMessage(e),
            attempts: state.attempts,
            reference
          })
        )
      }
      return yield* Effect.fail(
        new NotSent({
          host,
          attempts: state.attempts,
          elapsedMillis: t1 - t0,
          lastError: e._tag,
          lastMessage: errorMessage(e),
          address: state.address,
          reference
        })
      )
    })

  const defaultPath = `${settings.url.pathname}${settings.url.search}`
  const buildRequest = (request: GatewayRequest): Built => {
    const method = request.method ?? "POST"
    const path = request.path ?? defaultPath
    const body = request.body === undefined
      ? undefined
      : typeof request.body === "string"
      ? Buffer.from(request.body, "utf8")
      : request.body
    const headers: Record<string, string> = {}
    if (request.headers !== undefined) {
      for (const k in request.headers) headers[k.toLowerCase()] = request.headers[k]
    }
    if (body !== undefined && headers["content-type"] === undefined) headers["content-type"] = "application/json"
    if (request.auth !== undefined) {
      const credentials = `${request.auth.username}:${Redacted.value(request.auth.password)}`
      headers["authorization"] = `Basic ${Buffer.from(credentials, "utf8").toString("base64")}`
    }
    const bodyLength = body === undefined ? 0 : body.byteLength
    return { method, path, headers, body, size: Http.requestSize(method, path, host, headers, bodyLength) }
  }

  type SendResult =
    | { readonly _tag: "Ok"; readonly response: Omit<GatewayResponse, "attempts" | "reused" | "elapsedMillis"> }
    | { readonly _tag: "NothingSent"; readonly reason: string }
    | { readonly _tag: "Unknown"; readonly error: OutcomeUnknown }

  /** Sends the request on one connection; never retried once a byte is written (R3). */
  const send = (
    p: Pool.Pooled,
    request: GatewayRequest,
    built: Built,
    started: number,
    attempts: number
  ) =>
    Effect.gen(function*() {
      const before = p.connection.bytesWritten()
      const progress = { headersReceived: false, timedOut: false }
      const deadline = (yield* Clock.currentTimeMillis) + ioTimeoutMillis
      const result = yield* Http.exchange(p.dispatcher, built, progress, (expire) => {
        const entry = { deadline, expire }
        inFlight.add(entry)
        return () => inFlight.delete(entry)
      }).pipe(Effect.either)
      const headersReceived = progress.headersReceived
      const now = yield* Clock.currentTimeMillis
      if (Either.isRight(result)) {
        const { body, headers, status } = result.right
        p.requests++
        p.lastUsedAt = now
        Pool.applyHint(p, Http.keepAliveHint(headers))
        if (p.closed || Pool.staleReason(p, now, limits) !== undefined) {
          // closed in the background: the caller has its answer and need not wait for the close
          yield* Effect.forkIn(retire(p, p.closed ? "server-close" : "limit"), layerScope)
        } else {
          idle.push(p)
        }
        return {
          _tag: "Ok",
          response: { status, headers, body, address: p.address }
        } as SendResult
      }
      const written = p.connection.bytesWritten() - before
      const failure = result.left
      const reason = progress.timedOut ? "timeout" : Http.failureReason(failure)
      yield* retire(p, "failed")
      if (written === 0 && !headersReceived) {
        return { _tag: "NothingSent", reason } as SendResult
      }
      return {
        _tag: "Unknown",
        error: new OutcomeUnknown({
          host,
          address: p.address,
          phase: Http.phaseOf(written, built.size, headersReceived),
          bytesWritten: written,
          reason,
          elapsedMillis: now - started,
          attempts,
          reference: request.reference
        })
      } as SendResult
    })

  const request = (request: GatewayRequest): Effect.Effect<GatewayResponse, RequestError> =>
    Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const built = buildRequest(request)
      const state = { attempts: 0, address: undefined as string | undefined }
      const closedBeforeWrite = (lastMessage: string, address: string | undefined) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.fail(
            new NotSent({
              host,
              attempts: state.attempts,
              elapsedMillis: now - started,
              lastError: "ConnectionClosed",
              lastMessage,
              address,
              reference: request.reference
            })
          ))
      // A kept-alive connection the server closed before our first byte went out is not a failure
      // of the request: nothing was sent, so it goes again on another connection. Bounded.
      for (let round = 0; round <= settings.maxSockets + 1; round++) {
        const reusedConnection = yield* takeIdle
        const p = reusedConnection ?? (yield* connectPhase(state, request.reference))
        const sent = yield* send(p, request, built, started, state.attempts)
        const now = yield* Clock.currentTimeMillis
        if (sent._tag === "Ok") {
          yield* Metric.update(metrics.requestLatency, now - started)
          yield* Effect.annotateCurrentSpan({ "stpp.address": p.address, "stpp.attempts": state.attempts })
          return {
            ...sent.response,
            attempts: state.attempts,
            reused: reusedConnection !== undefined,
            elapsedMillis: now - started
          }
        }
        if (sent._tag === "Unknown") {
          yield* Effect.logError("outcome unknown: do not resend; look the transaction up").pipe(
            Effect.annotateLogs({
              address: sent.error.address,
              phase: sent.error.phase,
              bytesWritten: sent.error.bytesWritten,
              reason: sent.error.reason,
              reference: request.reference ?? "-"
            })
          )
          return yield* Effect.fail(sent.error)
        }
        yield* logDebug("connection closed before the request was written; sending on another", {
          address: p.address,
          reason: sent.reason,
          reused: reusedConnection !== undefined
        })
        // A fresh connection that closed before taking a byte counts against the connect budget (R1, R2).
        if (
          reusedConnection === undefined &&
          (state.attempts > policy.settings.maxRetries || now - started > latestStartMillis)
        ) {
          return yield* closedBeforeWrite(
            `the connection to ${p.address} closed before the request could be written (${sent.reason})`,
            p.address
          )
        }
      }
      return yield* closedBeforeWrite("every connection closed before the request could be written", state.address)
    }).pipe(
      permits.withPermit,
      withOwnLogging,
      Effect.tapBoth({
        onFailure: (e) =>
          Metric.increment(
            e._tag === "NotSent"
              ? outcomeCounters.not_sent
              : e._tag === "Refused"
              ? outcomeCounters.refused
              : outcomeCounters.outcome_unknown
          ),
        onSuccess: () => Metric.increment(outcomeCounters.ok)
      }),
      Effect.withSpan("stpp.request", {
        attributes: { "stpp.host": host, "stpp.reference": request.reference ?? "" }
      })
    )

  return { request, endpoint }
})

/**
 * The live service from `ConnectionConfig`: the live Resolver, TlsConnector, retry policy and the
 * redacting logger (installed here so nobody has to remember it: L2).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutConfig: Layer.Layer<
  ConnectionService,
  TlsConnector.TrustStoreError | RedactingLogger.LiveDebugRefused,
  ConnectionConfig.ConnectionConfig
> = Layer.scoped(ConnectionService, make).pipe(
  Layer.provide(Layer.mergeAll(Resolver.layer, TlsConnector.layer, RetryPolicy.layer)),
  Layer.provideMerge(RedactingLogger.layer)
)

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
