/**
 * One request from its permit to its answer: the request built for the wire, an idle connection or
 * a new one from the connect phase, the exchange on it, and what it came to. Once a request byte is
 * written nothing is retried (R3): the answer, or `OutcomeUnknown`.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import { constVoid } from "effect/Function"
import * as LogLevel from "effect/LogLevel"
import type * as MetricLabel from "effect/MetricLabel"
import * as Redacted from "effect/Redacted"
import { ConnectionClosed, DeadlineReached, NotSent, OutcomeUnknown, type RequestError } from "../ConnectionError.js"
import type { GatewayRequest, GatewayResponse } from "../ConnectionService.js"
import type * as Redact from "../Redact.js"
import { lastByCount, type Pooled } from "./connection.js"
import type { Attempts, Connect } from "./connectPhase.js"
import * as Http from "./http.js"
import { recordExit, recordOk } from "./metrics.js"
import type * as Permits from "./permits.js"
import type { LogDebug, Pool } from "./pool.js"
import * as Emit from "./redact/emit.js"

/** What a request needs of the service, fixed when it is built. @internal */
export interface Wiring {
  readonly host: string
  /** The configured url's path and query: where a request without `path` goes. */
  readonly defaultPath: string
  readonly ioTimeoutMillis: number
  readonly maxSockets: number
  readonly maxRetries: number
  /** No connect attempt starts later than this after the caller asked (R2, U2). */
  readonly latestStartMillis: number
  /** Every caller hears within this, counted from when it asked, while nothing was sent (U2). */
  readonly retryTimeoutMillis: number
  readonly pool: Pool
  readonly connect: Connect
  readonly logDebug: LogDebug
  /** How what the exchange writes is redacted (the configured PAN mask). */
  readonly redact: Redact.Options
}

/** The request ready for the wire: lower-case headers, a JSON content type, Basic auth. @internal */
export const buildRequest = (defaultPath: string, request: GatewayRequest): Http.Built => {
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
  readonly built: Http.Built
  readonly started: number
  /** When the caller asked: its retry time-out counts from here (U2). */
  readonly asked: number
  readonly state: Attempts
  readonly clock: Clock.Clock
  readonly traced: boolean
}

/**
 * What an exchange on `p` came to, in plain code: the connection's bookkeeping (back to the idle
 * list, or marked to retire) and, for a failure, whether a byte had been written (R3).
 */
const settle = (
  w: Wiring,
  ctx: RequestContext,
  p: Pooled,
  outcome: Http.Outcome,
  before: number,
  now: number
): SendResult => {
  if (outcome._tag === "Response") {
    const { body, headers, status } = outcome.response
    return {
      _tag: "Ok",
      response: { status, headers, body, address: p.address },
      retire: w.pool.answered(p, headers, now)
    }
  }
  const written = p.connection.bytesWritten() - before
  const reason = outcome.timedOut ? "timeout" : Http.failureReason(outcome.error)
  if (written === 0 && !outcome.headersReceived) return { _tag: "NothingSent", reason }
  return {
    _tag: "Unknown",
    error: new OutcomeUnknown({
      host: w.host,
      address: p.address,
      phase: Http.phaseOf(written, Http.requestSize(ctx.built, w.host), outcome.headersReceived),
      bytesWritten: written,
      reason,
      elapsedMillis: now - ctx.started,
      attempts: ctx.state.attempts,
      reference: ctx.request.reference
    })
  }
}

/** The socket of `p` when the request on it asks the server to close it after the answer: its last by count. */
const askClose = (p: Pooled): Http.Closing | undefined => {
  if (!lastByCount(p)) return undefined
  p.closeAsked = true
  return p.connection.socket
}

/** Sends the request on one connection; never retried once a byte is written (R3). */
const send = (w: Wiring, ctx: RequestContext, p: Pooled): Effect.Effect<SendResult> => {
  const before = p.connection.bytesWritten()
  const deadline = ctx.clock.unsafeCurrentTimeMillis() + w.ioTimeoutMillis
  return Http.exchange(p.dispatcher, ctx.built, w.pool.deadlines, deadline, askClose(p)).pipe(
    Effect.map((outcome) => settle(w, ctx, p, outcome, before, ctx.clock.unsafeCurrentTimeMillis())),
    // an interrupted exchange leaves the connection in an unknown state: it is closed
    Effect.onInterrupt(() => w.pool.retire(p, "interrupted"))
  )
}

const closedBeforeWrite = (w: Wiring, ctx: RequestContext, cause: ConnectionClosed) =>
  Effect.suspend(() =>
    Effect.fail(
      new NotSent({
        host: w.host,
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
  w: Wiring,
  ctx: RequestContext,
  p: Pooled,
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
      : w.pool.retire(p, sent.retire, true)
    const annotated = ctx.traced
      ? Effect.zipRight(
        retired,
        Emit.annotateCurrentSpan({ "stpp.address": p.address, "stpp.attempts": ctx.state.attempts }, w.redact)
      )
      : retired
    return Effect.as(annotated, response)
  }
  const failed = w.pool.retire(p, "failed")
  if (sent._tag === "Unknown") {
    return failed.pipe(
      Effect.zipRight(
        Emit.log(LogLevel.Error, "outcome unknown: do not resend; look the transaction up", {
          address: sent.error.address,
          phase: sent.error.phase,
          bytesWritten: sent.error.bytesWritten,
          reason: sent.error.reason,
          reference: ctx.request.reference ?? "-"
        }, w.redact)
      ),
      Effect.zipRight(Effect.fail(sent.error))
    )
  }
  return failed.pipe(
    Effect.zipRight(w.logDebug("connection closed before the request was written; sending on another", {
      address: p.address,
      reason: sent.reason,
      reused
    })),
    Effect.zipRight(
      // A fresh connection that closed before taking a byte counts against the connect budget (R1, R2).
      !reused && (ctx.state.attempts > w.maxRetries || now - ctx.asked > w.latestStartMillis)
        ? closedBeforeWrite(
          w,
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
const rounds = (w: Wiring, ctx: RequestContext, n: number): Effect.Effect<GatewayResponse, RequestError> =>
  n > w.maxSockets + 1
    ? closedBeforeWrite(
      w,
      ctx,
      new ConnectionClosed({ reason: "every-connection-closed", address: ctx.state.address })
    )
    : w.pool.shutDown()
    ? closedBeforeWrite(w, ctx, new ConnectionClosed({ reason: "shut-down", address: ctx.state.address }))
    : Effect.flatMap(w.pool.takeIdle(ctx.clock.unsafeCurrentTimeMillis()), (idleConnection) =>
      Effect.flatMap(
        idleConnection === undefined
          ? w.connect(ctx.state, ctx.request.reference, ctx.traced, ctx.asked)
          : Effect.succeed(idleConnection),
        (p) =>
          Effect.flatMap(
            send(w, ctx, p),
            (sent) =>
              conclude(w, ctx, p, sent, idleConnection !== undefined, Effect.suspend(() => rounds(w, ctx, n + 1)))
          )
      ))

/**
 * One request from its permit to its answer, as one async step (`run`): the permit is asked for
 * in plain code (a request waiting for one costs no fiber switch); once granted, a kept-alive
 * connection that may be reused is taken at once and the exchange runs with its bookkeeping in
 * plain code (the warm path); otherwise the general path runs (`rounds`). A class rather than
 * closures: this runs for every request.
 */
class Flight implements Http.Listener, Permits.Grantee, RequestContext, Http.Expiring {
  /** Holds one of the `maxSockets` permits. */
  held = false
  /** Where it sits in the pool's deadlines while it waits for a permit (-1 when not there). */
  slot = -1
  /** When it was asked for (U2). */
  readonly asked: number
  /** While it waits for a permit: when it gives up (U2). */
  deadline = 0
  /** Its metrics are written. */
  recorded = false
  readonly built: Http.Built
  /** When its permit was granted: the connect budget and the IO deadline count from here. */
  started = 0
  attempts = 0
  address: string | undefined = undefined
  connection: Pooled | undefined = undefined
  exchange: Http.Exchange | undefined = undefined
  before = 0
  withdraw: () => void = constVoid
  resume: (effect: Effect.Effect<GatewayResponse, RequestError>) => void = constVoid

  constructor(
    readonly w: Wiring,
    readonly request: GatewayRequest,
    readonly clock: Clock.Clock,
    readonly traced: boolean,
    readonly warm: boolean,
    readonly labels: ReadonlyArray<MetricLabel.MetricLabel>
  ) {
    this.built = buildRequest(w.defaultPath, request)
    this.asked = clock.unsafeCurrentTimeMillis()
  }

  /** Waiting for a permit until the caller's deadline (U2): swept by the pool's housekeeper. */
  waitWithDeadline(): void {
    if (this.held) return
    this.deadline = this.asked + this.w.retryTimeoutMillis
    this.w.pool.deadlines.add(this)
  }

  /** The caller's deadline came while it waited for a permit: it hears `NotSent` now (U2). */
  expire(): void {
    if (this.held) return
    this.withdraw()
    this.withdraw = constVoid
    const now = this.clock.unsafeCurrentTimeMillis()
    this.resume(Effect.fail(
      new NotSent({
        host: this.w.host,
        attempts: 0,
        elapsedMillis: now - this.asked,
        cause: new DeadlineReached({ phase: "waiting-for-socket", timeoutMillis: this.w.retryTimeoutMillis }),
        address: undefined,
        reference: this.request.reference
      })
    ))
  }

  /** The connect attempts made and the address last tried: the flight itself (no object more per request). */
  get state(): Attempts {
    return this
  }

  granted(): void {
    this.held = true
    this.withdraw = constVoid
    if (this.slot >= 0) this.w.pool.deadlines.delete(this)
    const now = this.clock.unsafeCurrentTimeMillis()
    this.started = now
    const p = this.warm ? this.w.pool.takeFresh(now) : undefined
    if (p === undefined) {
      this.resume(rounds(this.w, this, 0))
      return
    }
    this.connection = p
    this.before = p.connection.bytesWritten()
    this.exchange = new Http.Exchange(p.dispatcher, this.w.pool.deadlines, now + this.w.ioTimeoutMillis, this).start(
      this.built,
      askClose(p)
    )
  }

  /** The warm path's exchange ended: an answer hands the permit on and is recorded at once. */
  settled(outcome: Http.Outcome): void {
    const p = this.connection!
    const w = this.w
    this.exchange = undefined
    const now = this.clock.unsafeCurrentTimeMillis()
    if (outcome._tag === "Response") {
      const { body, headers, status } = outcome.response
      const stale = w.pool.answered(p, headers, now)
      if (stale === undefined) {
        const elapsedMillis = now - this.started
        this.held = false
        w.pool.permits.release()
        this.recorded = true
        recordOk(elapsedMillis, this.labels)
        this.resume(
          Effect.succeed({ status, headers, body, address: p.address, attempts: 0, reused: true, elapsedMillis })
        )
        return
      }
      const sent: SendResult = { _tag: "Ok", response: { status, headers, body, address: p.address }, retire: stale }
      this.resume(conclude(w, this, p, sent, true, Effect.suspend(() => rounds(w, this, 1))))
      return
    }
    // anything else goes on the general way
    const sent = settle(w, this, p, outcome, this.before, now)
    this.resume(conclude(w, this, p, sent, true, Effect.suspend(() => rounds(w, this, 1))))
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
      if (this.slot >= 0) this.w.pool.deadlines.delete(this)
    } else if (this.exchange !== undefined) {
      const running = this.exchange
      this.exchange = undefined
      running.abort()
      closing = this.w.pool.retire(this.connection!, "interrupted")
    }
    if (this.held) {
      this.held = false
      this.w.pool.permits.release()
    }
    if (!this.recorded) {
      this.recorded = true
      recordExit(exit, this.labels)
    }
    return closing
  }
}

/**
 * One request as one async step with one exit hook; `warm` allows the plain-code path on a
 * kept-alive connection (no span to make, the service's logging already in place).
 *
 * @internal
 */
export const run = (
  w: Wiring,
  request: GatewayRequest,
  clock: Clock.Clock,
  traced: boolean,
  warm: boolean,
  labels: ReadonlyArray<MetricLabel.MetricLabel>
): Effect.Effect<GatewayResponse, RequestError> => {
  const flight = new Flight(w, request, clock, traced, warm, labels)
  return Effect.onExit(
    Effect.async<GatewayResponse, RequestError>((resume) => {
      flight.resume = resume
      flight.withdraw = w.pool.permits.request(flight)
      flight.waitWithDeadline()
    }),
    (exit) => flight.exit(exit)
  )
}
