/**
 * The one service applications use: DNS (Resolver), verified TLS (TlsConnector), the retry policy
 * and the redacting logger composed into a request path that never sends a payment twice.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import { constVoid } from "effect/Function"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import type * as MetricLabel from "effect/MetricLabel"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import * as ConnectionConfig from "./ConnectionConfig.js"
import { ConnectionClosed, NotSent, OutcomeUnknown, Refused, type RequestError } from "./ConnectionError.js"
import { Housekeeper } from "./internal/housekeeper.js"
import * as Http from "./internal/http.js"
import * as Metrics from "./internal/metrics.js"
import * as Permits from "./internal/permits.js"
import * as Pool from "./internal/pool.js"
import { Slots } from "./internal/slots.js"
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
 * The service's metrics, for an app's metrics exporter: `attempts`, `retries` (by `reason`),
 * `requests` (by `outcome`), `retired` (by `reason`), `connectLatency` and `requestLatency` (ms).
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics = Metrics.metrics

// -----------------------------------------------------------------------------
// the live service
// -----------------------------------------------------------------------------

type ConnectFailure = Resolver.DnsError | TlsConnector.TlsConnectError

const isConnectRetryable = (e: ConnectFailure): boolean => Resolver.isDnsError(e) ? true : TlsConnector.isRetryable(e)

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
  // Debug lines (and their annotations) are only built when they would be written.
  const debugOn = LogLevel.lessThanEqual(minimumLevel, LogLevel.Debug)
  const logDebug = (message: string, annotations: Record<string, unknown>) =>
    debugOn ? Effect.annotateLogs(Effect.logDebug(message), annotations) : Effect.void
  const endpoint = ConnectionConfig.endpoint(settings)
  const { host, port } = endpoint
  const origin = new URL(`https://${host.includes(":") ? `[${host}]` : host}${port === 443 ? "" : `:${port}`}`)
  const limits: Pool.Limits = { keepAliveIdleMillis: Duration.toMillis(settings.keepAliveIdle) }
  const maxRequestsRange = Pool.maxRequestsRange(settings.keepAliveMaxRequests)
  const latestStartMillis = Duration.toMillis(RetryPolicy.latestStart(policy.settings))
  const permits = Permits.make(settings.maxSockets)
  const idle: Array<Pool.Pooled> = []
  // connections come and go hundreds of times a second under load: `Slots`, not a `Set` (see there)
  const open = new Slots<Pool.Pooled>()

  /** Closes a connection now and takes it out of the pool (closing does not wait for undici). */
  const retire = (p: Pool.Pooled, reason: string) =>
    Effect.suspend(() => {
      if (!open.delete(p)) return Effect.void
      const i = idle.indexOf(p)
      if (i >= 0) idle.splice(i, 1)
      return Pool.close(p).pipe(
        Effect.zipRight(Metric.increment(Metrics.retiredCounter(reason))),
        Effect.zipRight(
          logDebug("connection retired", { connection: p.id, address: p.address, reason, requests: p.requests })
        )
      )
    })

  // Housekeeping on Clock (so TestClock drives it), at the next deadline it knows of:
  // - the send/receive time-out (STPP_IO_TIMEOUT): requests in flight past their deadline are
  //   aborted; one sweeper rather than a timer race per request (bench/RESULTS.md, warm);
  // - idle connections whose DNS answer expired (D2), that idled too long, or whose socket closed,
  //   are closed even when no request comes to notice.
  const ioTimeoutMillis = Duration.toMillis(settings.ioTimeout)
  const housekeeper = new Housekeeper()
  const inFlight = new Http.Deadlines((deadline) => housekeeper.notify(deadline))
  const sweep = (now: number) =>
    Effect.suspend(() => {
      let next = inFlight.expireUntil(now)
      const stale: Array<readonly [Pool.Pooled, string]> = []
      for (const p of idle) {
        const reason = Pool.staleReason(p, now, limits)
        if (reason !== undefined) stale.push([p, reason])
        else next = Math.min(next, Pool.staleAt(p, limits))
      }
      return Effect.as(Effect.forEach(stale, ([p, reason]) => retire(p, reason), { discard: true }), next)
    })
  const idleClosed = (p: Pool.Pooled) => {
    if (idle.includes(p)) housekeeper.notify(Number.NEGATIVE_INFINITY)
  }
  yield* Effect.forkIn(housekeeper.run(sweep), layerScope)
  // Once the layer is closed, a connection that a request still in flight opens or hands back is
  // closed at once rather than kept.
  let shutDown = false
  yield* Effect.addFinalizer(() =>
    Effect.suspend(() => {
      shutDown = true
      return Effect.forEach(open.toArray(), (p) => Pool.closeAndWait(p), { discard: true })
    }).pipe(
      Effect.tap(() => Effect.sync(() => open.clear()))
    )
  )

  /**
   * An idle connection that may be reused now, if any (most recently used first); stale ones found
   * on the way are retired.
   */
  const takeIdle = (now: number): Effect.Effect<Pool.Pooled | undefined> => {
    const p = idle.pop()
    if (p === undefined) return Effect.succeed(undefined)
    const reason = Pool.staleReason(p, now, limits)
    if (reason === undefined) return Effect.succeed(p)
    return Effect.zipRight(retire(p, reason), Effect.suspend(() => takeIdle(now)))
  }

  /** One connect attempt: resolve, then TCP + verified TLS to the address DNS names now. */
  const connectOnce = (state: { attempts: number; address: string | undefined }, traced: boolean) =>
    Effect.gen(function*() {
      state.attempts++
      yield* Metric.increment(metrics.attempts)
      const answer = yield* resolver.resolve(host)
      const address = answer.addresses[0]
      state.address = address
      // The connection's own scope, not a child of the layer's: the layer's finalizer closes every
      // open connection itself, and a child scope is one more entry added to and deleted from the
      // layer scope's map for each connection.
      const scope = yield* Scope.make(ExecutionStrategy.sequential)
      const connection = yield* connector.connect({ address, port, servername: host }).pipe(
        Scope.extend(scope),
        Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
      )
      const now = yield* Clock.currentTimeMillis
      // Random (so tests can fix it): connections opened together are retired at different counts
      const maxRequests = yield* Random.nextIntBetween(maxRequestsRange[0], maxRequestsRange[1] + 1)
      const pooled = Pool.wrap(
        connection,
        scope,
        origin,
        answer.expiresAt,
        now,
        settings.maxResponseBytes,
        maxRequests,
        idleClosed
      )
      if (shutDown) Pool.closeNow(pooled)
      else open.add(pooled)
      return pooled
    }).pipe(
      Effect.tapError((e) =>
        logDebug("connect attempt failed", { attempt: state.attempts, address: state.address, error: e._tag })
          .pipe(Effect.zipRight(
            isConnectRetryable(e)
              // the load balancer may already name another address: ask DNS again next time
              ? resolver.invalidate(host).pipe(
                Effect.zipRight(Metric.increment(Metric.tagged(metrics.retries, "reason", e._tag)))
              )
              : Effect.void
          ))
      ),
      // a span per attempt, numbered when it starts
      (effect) =>
        traced
          ? Effect.suspend(() =>
            Effect.withSpan(effect, "stpp.connect", {
              attributes: { "stpp.attempt": state.attempts + 1 },
              captureStackTrace: false
            })
          )
          : effect
    )

  const connectPhase = (
    state: { attempts: number; address: string | undefined },
    reference: string | undefined,
    traced: boolean
  ) =>
    Effect.gen(function*() {
      const t0 = yield* Clock.currentTimeMillis
      const result = yield* Effect.either(RetryPolicy.retryWith(policy, connectOnce(state, traced), isConnectRetryable))
      const t1 = yield* Clock.currentTimeMillis
      if (Either.isRight(result)) {
        yield* Metric.update(metrics.connectLatency, t1 - t0)
        return result.right
      }
      const e = result.left
      if (TlsConnector.isVerificationError(e)) {
        return yield* Effect.fail(
          new Refused({ host, address: e.address, cause: e, attempts: state.attempts, reference })
        )
      }
      return yield* Effect.fail(
        new NotSent({
          host,
          attempts: state.attempts,
          elapsedMillis: t1 - t0,
          cause: e,
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
    return { method, path, headers, body }
  }

  type SendResult =
    | {
      readonly _tag: "Ok"
      readonly response: Omit<GatewayResponse, "attempts" | "reused" | "elapsedMillis">
      /** Why the connection may not be reused, when it may not. */
      readonly retire: string | undefined
    }
    | { readonly _tag: "NothingSent"; readonly reason: string }
    | { readonly _tag: "Unknown"; readonly error: OutcomeUnknown }

  /** One request's own facts, shared by its rounds. */
  interface RequestContext {
    readonly request: GatewayRequest
    readonly built: Built
    readonly started: number
    readonly state: { attempts: number; address: string | undefined }
    readonly clock: Clock.Clock
    readonly traced: boolean
  }

  /**
   * The connection's bookkeeping after an answer on it: back to the idle list, or why it may not
   * be reused (the server asked to close, or a limit is reached).
   */
  const answered = (p: Pool.Pooled, headers: Readonly<Record<string, string>>, now: number): string | undefined => {
    p.requests++
    p.lastUsedAt = now
    Pool.applyHint(p, Http.keepAliveHint(headers))
    const stale = p.closed
      ? "server-close"
      : shutDown
      ? "shut-down"
      : Pool.staleReason(p, now, limits) === undefined
      ? undefined
      : "limit"
    if (stale === undefined) {
      idle.push(p)
      housekeeper.notify(Pool.staleAt(p, limits))
    }
    return stale
  }

  /**
   * What an exchange on `p` came to, in plain code: the connection's bookkeeping (back to the idle
   * list, or marked to retire) and, for a failure, whether a byte had been written (R3).
   */
  const settle = (
    ctx: RequestContext,
    p: Pool.Pooled,
    outcome: Http.Outcome,
    before: number,
    now: number
  ): SendResult => {
    if (outcome._tag === "Response") {
      const { body, headers, status } = outcome.response
      return { _tag: "Ok", response: { status, headers, body, address: p.address }, retire: answered(p, headers, now) }
    }
    const written = p.connection.bytesWritten() - before
    const reason = outcome.timedOut ? "timeout" : Http.failureReason(outcome.error)
    if (written === 0 && !outcome.headersReceived) return { _tag: "NothingSent", reason }
    return {
      _tag: "Unknown",
      error: new OutcomeUnknown({
        host,
        address: p.address,
        phase: Http.phaseOf(written, Http.requestSize(ctx.built, host), outcome.headersReceived),
        bytesWritten: written,
        reason,
        elapsedMillis: now - ctx.started,
        attempts: ctx.state.attempts,
        reference: ctx.request.reference
      })
    }
  }

  /** Sends the request on one connection; never retried once a byte is written (R3). */
  const send = (ctx: RequestContext, p: Pool.Pooled): Effect.Effect<SendResult> => {
    const before = p.connection.bytesWritten()
    const deadline = ctx.clock.unsafeCurrentTimeMillis() + ioTimeoutMillis
    return Http.exchange(p.dispatcher, ctx.built, inFlight, deadline).pipe(
      Effect.map((outcome) => settle(ctx, p, outcome, before, ctx.clock.unsafeCurrentTimeMillis())),
      // an interrupted exchange leaves the connection in an unknown state: it is closed
      Effect.onInterrupt(() => retire(p, "interrupted"))
    )
  }

  const closedBeforeWrite = (ctx: RequestContext, cause: ConnectionClosed) =>
    Effect.suspend(() =>
      Effect.fail(
        new NotSent({
          host,
          attempts: ctx.state.attempts,
          elapsedMillis: ctx.clock.unsafeCurrentTimeMillis() - ctx.started,
          cause,
          address: cause.address,
          reference: ctx.request.reference
        })
      )
    )

  /** What follows a send: the answer, `OutcomeUnknown`, or (nothing sent) `again`. */
  const conclude = (
    ctx: RequestContext,
    p: Pool.Pooled,
    sent: SendResult,
    reused: boolean,
    again: Effect.Effect<GatewayResponse, RequestError>
  ): Effect.Effect<GatewayResponse, RequestError> => {
    const now = ctx.clock.unsafeCurrentTimeMillis()
    if (sent._tag === "Ok") {
      const response: GatewayResponse = {
        ...sent.response,
        attempts: ctx.state.attempts,
        reused,
        elapsedMillis: now - ctx.started
      }
      const retired = sent.retire === undefined
        ? Effect.void
        // closing does not wait for the socket: the caller has its answer at once
        : retire(p, sent.retire)
      const annotated = ctx.traced
        ? Effect.zipRight(
          retired,
          Effect.annotateCurrentSpan({ "stpp.address": p.address, "stpp.attempts": ctx.state.attempts })
        )
        : retired
      return Effect.as(annotated, response)
    }
    const failed = retire(p, "failed")
    if (sent._tag === "Unknown") {
      return failed.pipe(
        Effect.zipRight(
          Effect.logError("outcome unknown: do not resend; look the transaction up").pipe(
            Effect.annotateLogs({
              address: sent.error.address,
              phase: sent.error.phase,
              bytesWritten: sent.error.bytesWritten,
              reason: sent.error.reason,
              reference: ctx.request.reference ?? "-"
            })
          )
        ),
        Effect.zipRight(Effect.fail(sent.error))
      )
    }
    return failed.pipe(
      Effect.zipRight(logDebug("connection closed before the request was written; sending on another", {
        address: p.address,
        reason: sent.reason,
        reused
      })),
      Effect.zipRight(
        // A fresh connection that closed before taking a byte counts against the connect budget (R1, R2).
        !reused && (ctx.state.attempts > policy.settings.maxRetries || now - ctx.started > latestStartMillis)
          ? closedBeforeWrite(
            ctx,
            new ConnectionClosed({ reason: "closed-before-write", address: p.address, detail: sent.reason })
          )
          : again
      )
    )
  }

  /**
   * The general path: an idle connection or a new one (resolve, connect, retried by the policy),
   * then the exchange. A kept-alive connection the server closed before our first byte went out is
   * not a failure of the request: nothing was sent, so it goes again on another connection. Bounded.
   */
  const rounds = (ctx: RequestContext, n: number): Effect.Effect<GatewayResponse, RequestError> =>
    n > settings.maxSockets + 1
      ? closedBeforeWrite(ctx, new ConnectionClosed({ reason: "every-connection-closed", address: ctx.state.address }))
      : shutDown
      ? closedBeforeWrite(ctx, new ConnectionClosed({ reason: "shut-down", address: ctx.state.address }))
      : Effect.flatMap(takeIdle(ctx.clock.unsafeCurrentTimeMillis()), (idleConnection) =>
        Effect.flatMap(
          idleConnection === undefined
            ? connectPhase(ctx.state, ctx.request.reference, ctx.traced)
            : Effect.succeed(idleConnection),
          (p) =>
            Effect.flatMap(
              send(ctx, p),
              (sent) => conclude(ctx, p, sent, idleConnection !== undefined, Effect.suspend(() => rounds(ctx, n + 1)))
            )
        ))

  /**
   * One request from its permit to its answer, as one async step (`run`): the permit is asked for
   * in plain code (a request waiting for one costs no fiber switch); once granted, a kept-alive
   * connection that may be reused is taken at once and the exchange runs with its bookkeeping in
   * plain code (the warm path); otherwise the general path runs (`rounds`). A class rather than
   * closures: this runs for every request.
   */
  class Flight implements Http.Listener, Permits.Grantee, RequestContext {
    /** Holds one of the `maxSockets` permits. */
    held = false
    /** Its metrics are written. */
    recorded = false
    readonly built: Built
    /** When its permit was granted: the connect budget and the IO deadline count from here. */
    started = 0
    attempts = 0
    address: string | undefined = undefined
    connection: Pool.Pooled | undefined = undefined
    exchange: Http.Exchange | undefined = undefined
    before = 0
    withdraw: () => void = constVoid
    resume: (effect: Effect.Effect<GatewayResponse, RequestError>) => void = constVoid

    constructor(
      readonly request: GatewayRequest,
      readonly clock: Clock.Clock,
      readonly traced: boolean,
      readonly warm: boolean,
      readonly labels: ReadonlyArray<MetricLabel.MetricLabel>
    ) {
      this.built = buildRequest(request)
    }

    /** The connect attempts made and the address last tried: the flight itself (no object more per request). */
    get state(): { attempts: number; address: string | undefined } {
      return this
    }

    granted(): void {
      this.held = true
      this.withdraw = constVoid
      const now = this.clock.unsafeCurrentTimeMillis()
      this.started = now
      const p = this.warm ? Pool.takeFresh(idle, now, limits) : undefined
      if (p === undefined) {
        this.resume(rounds(this, 0))
        return
      }
      this.connection = p
      this.before = p.connection.bytesWritten()
      this.exchange = new Http.Exchange(p.dispatcher, inFlight, now + ioTimeoutMillis, this).start(this.built)
    }

    /** The warm path's exchange ended: an answer hands the permit on and is recorded at once. */
    settled(outcome: Http.Outcome): void {
      const p = this.connection!
      this.exchange = undefined
      const now = this.clock.unsafeCurrentTimeMillis()
      if (outcome._tag === "Response") {
        const { body, headers, status } = outcome.response
        const stale = answered(p, headers, now)
        if (stale === undefined) {
          const elapsedMillis = now - this.started
          this.held = false
          permits.release()
          this.recorded = true
          Metrics.recordOk(elapsedMillis, this.labels)
          this.resume(
            Effect.succeed({ status, headers, body, address: p.address, attempts: 0, reused: true, elapsedMillis })
          )
          return
        }
        const sent: SendResult = { _tag: "Ok", response: { status, headers, body, address: p.address }, retire: stale }
        this.resume(conclude(this, p, sent, true, Effect.suspend(() => rounds(this, 1))))
        return
      }
      // anything else goes on the general way
      const sent = settle(this, p, outcome, this.before, now)
      this.resume(conclude(this, p, sent, true, Effect.suspend(() => rounds(this, 1))))
    }

    /**
     * However it ended, once: an interruption included, however it raced the answer (the async
     * step has no canceller of its own: this is its one exit hook). Interrupted while waiting for
     * a permit, it leaves the queue; during the warm path's exchange, the exchange is aborted and
     * its connection, in an unknown state, closed.
     */
    exit(exit: Exit.Exit<GatewayResponse, RequestError>): Effect.Effect<void> {
      let closing: Effect.Effect<void> = Effect.void
      if (!this.held) {
        this.withdraw()
      } else if (this.exchange !== undefined) {
        const running = this.exchange
        this.exchange = undefined
        running.abort()
        closing = retire(this.connection!, "interrupted")
      }
      if (this.held) {
        this.held = false
        permits.release()
      }
      if (!this.recorded) {
        this.recorded = true
        Metrics.recordExit(exit, this.labels)
      }
      return closing
    }
  }

  const run = (
    request: GatewayRequest,
    clock: Clock.Clock,
    traced: boolean,
    warm: boolean,
    labels: ReadonlyArray<MetricLabel.MetricLabel>
  ): Effect.Effect<GatewayResponse, RequestError> => {
    const flight = new Flight(request, clock, traced, warm, labels)
    return Effect.onExit(
      Effect.async<GatewayResponse, RequestError>((resume) => {
        flight.resume = resume
        flight.withdraw = permits.request(flight)
      }),
      (exit) => flight.exit(exit)
    )
  }

  const request = (request: GatewayRequest): Effect.Effect<GatewayResponse, RequestError> =>
    Effect.withFiberRuntime((fiber) => {
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
      let out = run(
        request,
        clock,
        traced,
        !traced && sameLoggers && sameLevel,
        fiber.getFiberRef(FiberRef.currentMetricLabels)
      )
      if (!sameLevel) out = Effect.locally(out, FiberRef.currentMinimumLogLevel, minimumLevel)
      if (!sameLoggers) out = Effect.locally(out, FiberRef.currentLoggers, loggers)
      return traced
        ? Effect.withSpan(out, "stpp.request", {
          attributes: { "stpp.host": host, "stpp.reference": request.reference ?? "" },
          // the call site would be this file, not the app's: not worth an Error per request
          captureStackTrace: false
        })
        : out
    })

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
