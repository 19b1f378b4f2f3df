/**
 * The connect phase: one attempt (resolve, then TCP + verified TLS to the address DNS names now),
 * and the attempts under the retry policy and its budget (R1, R2), ending in a pooled connection,
 * `Refused` (a verification failure, never retried) or `NotSent`.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import { constVoid } from "effect/Function"
import * as Metric from "effect/Metric"
import * as Random from "effect/Random"
import * as Scope from "effect/Scope"
import { DeadlineReached, NotSent, Refused } from "../ConnectionError.js"
import * as Resolver from "../Resolver.js"
import * as RetryPolicy from "../RetryPolicy.js"
import * as TlsConnector from "../TlsConnector.js"
import * as Connection from "./connection.js"
import { metrics } from "./metrics.js"
import type { LogDebug, Pool } from "./pool.js"
import * as Emit from "./redact/emit.js"
import type { RetryBudget } from "./retryBudget.js"
import { ownedOf } from "./tls/connector.js"

// The connect span holds only the attempt's number: no mask to honour.
const NO_OPTIONS = Emit.optionsOf(undefined)

type ConnectFailure = Resolver.DnsError | TlsConnector.TlsConnectError | DeadlineReached

type RetryableFailure = Resolver.DnsError | TlsConnector.ConnectPhaseError

const isConnectRetryable = (e: ConnectFailure): e is RetryableFailure =>
  Resolver.isDnsError(e) ? true : TlsConnector.isRetryable(e)

/** The connect attempts one request made, and the address last tried. @internal */
export interface Attempts {
  attempts: number
  address: string | undefined
}

/**
 * @internal
 * `askedAt`: when the caller asked (Clock epoch ms); the retry time-out counts from there (U2).
 */
export type Connect = (
  state: Attempts,
  reference: string | undefined,
  traced: boolean,
  askedAt: number
) => Effect.Effect<Connection.Pooled, NotSent | Refused>

/** @internal */
export interface Options {
  readonly host: string
  readonly port: number
  readonly keepAliveMaxRequests: number
  readonly resolver: Resolver.Resolver["Type"]
  readonly connector: TlsConnector.TlsConnector["Type"]
  readonly policy: RetryPolicy.RetryPolicy["Type"]
  readonly budget: RetryBudget
  readonly pool: Pool
  readonly logDebug: LogDebug
}

/** A new connection taken into the pool, with its own request cap drawn from `range`. */
const pooled = (
  pool: Pool,
  range: readonly [number, number],
  connection: TlsConnector.TlsConnection,
  scope: Scope.CloseableScope | undefined,
  expiresAt: number
) =>
  Effect.withFiberRuntime<Connection.Pooled>((fiber) => {
    if (connection.resumed === true) {
      metrics.tlsResumed.unsafeUpdate(1, fiber.getFiberRef(FiberRef.currentMetricLabels))
    }
    const services = fiber.getFiberRef(DefaultServices.currentServices)
    const now = Context.get(services, Clock.Clock).unsafeCurrentTimeMillis()
    // Random (so tests can fix it): connections opened together are retired at different counts
    return Effect.map(
      Context.get(services, Random.Random).nextIntBetween(range[0], range[1] + 1),
      (maxRequests) => pool.add(connection, scope, expiresAt, now, maxRequests)
    )
  })

/** @internal */
export const make = (options: Options): Connect => {
  const { budget, connector, host, logDebug, policy, pool, port, resolver } = options
  const maxRequestsRange = Connection.maxRequestsRange(options.keepAliveMaxRequests)
  const retryTimeoutMillis = Duration.toMillis(policy.settings.retryTimeout)
  const connectTimeoutMillis = Duration.toMillis(policy.settings.connectTimeout)

  /**
   * One connect attempt: resolve, then TCP + verified TLS to the address DNS names now. An attempt
   * that could not end by the caller's deadline by itself (a first one, after waiting for a socket)
   * is cut there (U2); none starts once the deadline has come (a socket freed at that very moment).
   */
  const connectOnce = (state: Attempts, traced: boolean, deadline: number) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      deadline - now >= connectTimeoutMillis
        ? attemptOnce(state, traced)
        : deadline <= now
        ? Effect.fail(
          new DeadlineReached({
            phase: state.attempts === 0 ? "waiting-for-socket" : "connecting",
            timeoutMillis: retryTimeoutMillis
          })
        )
        : Effect.timeoutFail(attemptOnce(state, traced), {
          duration: Duration.millis(deadline - now),
          onTimeout: () => new DeadlineReached({ phase: "connecting", timeoutMillis: retryTimeoutMillis })
        }))

  const owned = ownedOf(connector)

  /**
   * The live connector's connection, its socket closed by the pool (no `Scope` per connection);
   * any other connector's in a scope of its own, closed with the connection. Taken into the pool
   * uninterruptibly once connected, so that no socket is left open by an interruption.
   */
  const connectTo = (target: TlsConnector.Target, expiresAt: number) =>
    owned !== undefined
      ? Effect.suspend(() => {
        // an interruption that lands after the handshake verified but before the pool took the
        // connection (the async resumed, its continuation not yet run) destroys the socket too
        const holder = { discard: constVoid }
        return Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(
            Effect.onInterrupt(restore(owned(target, holder)), () => Effect.sync(() => holder.discard())),
            (connection) => pooled(pool, maxRequestsRange, connection, undefined, expiresAt)
          )
        )
      })
      // The connection's own scope, not a child of the layer's: the pool's finalizer closes every
      // open connection itself, and a child scope is one more entry in the layer scope's map.
      : Effect.flatMap(Scope.make(ExecutionStrategy.sequential), (scope) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(
            restore(Scope.extend(connector.connect(target), scope)).pipe(
              Effect.onError((cause) =>
                Scope.close(scope, Exit.failCause(cause))
              )
            ),
            (connection) => pooled(pool, maxRequestsRange, connection, scope, expiresAt)
          )
        ))

  const attemptOnce = (state: Attempts, traced: boolean) =>
    Effect.withFiberRuntime<Connection.Pooled, ConnectFailure>((fiber) => {
      state.attempts++
      metrics.attempts.unsafeUpdate(1, fiber.getFiberRef(FiberRef.currentMetricLabels))
      return Effect.flatMap(resolver.resolve(host), (answer) => {
        const address = answer.addresses[0]
        state.address = address
        return connectTo({ address, port, servername: host }, answer.expiresAt)
      })
    }).pipe(
      Effect.tapError((e) =>
        logDebug("connect attempt failed", { attempt: state.attempts, address: state.address, error: e._tag })
          .pipe(Effect.zipRight(
            isConnectRetryable(e)
              // the load balancer may already name another address: ask DNS again next time
              ? Effect.suspend(() => {
                budget.failed(e)
                return resolver.invalidate(host)
              }).pipe(
                Effect.zipRight(Metric.increment(Metric.tagged(metrics.retries, "reason", e._tag)))
              )
              : Effect.void
          ))
      ),
      // a span per attempt, numbered when it starts
      (effect) =>
        traced
          ? Effect.suspend(() =>
            Emit.withSpan(effect, "stpp.connect", { "stpp.attempt": state.attempts + 1 }, NO_OPTIONS)
          )
          : effect
    )

  return (state, reference, traced, askedAt) =>
    Effect.gen(function*() {
      const t0 = yield* Clock.currentTimeMillis
      const admitted = yield* Effect.either(budget.admit(t0))
      if (Either.isLeft(admitted)) {
        return yield* Effect.fail(
          new NotSent({
            host,
            attempts: state.attempts,
            elapsedMillis: (yield* Clock.currentTimeMillis) - t0,
            cause: admitted.left,
            address: state.address,
            reference
          })
        )
      }
      // the budget's refusal of a retry, seen by this request
      let refused = false
      const retryable = (e: ConnectFailure) => {
        if (!isConnectRetryable(e)) return false
        if (budget.allowRetry(e)) return true
        refused = true
        return false
      }
      const result = yield* Effect.either(
        RetryPolicy.retryWith(policy, connectOnce(state, traced, askedAt + retryTimeoutMillis), retryable, askedAt)
      )
      const t1 = yield* Clock.currentTimeMillis
      budget.ended(admitted.right, Either.isRight(result), t1)
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
      const spent = refused && isConnectRetryable(e) ? budget.spentError(e) : undefined
      return yield* Effect.fail(
        new NotSent({
          host,
          attempts: state.attempts,
          elapsedMillis: t1 - t0,
          cause: spent ?? e,
          address: state.address,
          reference
        })
      )
    })
}
