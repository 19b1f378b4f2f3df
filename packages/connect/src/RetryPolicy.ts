/**
 * The connect-phase retry policy (R1, R2, R4) as an Effect `Schedule`.
 *
 * The guide's numbers: at most 20 retries, 40 s for the whole connect phase, 5 s per connect
 * attempt. The budget is measured from the start of the *first attempt* (not from the first
 * failure, which is what `Schedule.upTo` would measure), and an attempt is started only if it could
 * finish inside the budget: `elapsed + connectTimeout <= retryTimeout`, so with the defaults no
 * attempt starts later than 35 s after the first. The pause before an attempt grows (doubling from
 * `retryBaseDelay`, capped at `retryMaxDelay`, ±20 % jitter) and is cut so that the last attempt
 * still starts by the deadline.
 *
 * Only errors the caller classifies as "nothing was sent yet" are retried (R3): the predicate is an
 * input of the schedule, supplied by the ConnectionService.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleInterval from "effect/ScheduleInterval"
import { ConnectionConfig, type ConnectionSettings } from "./ConnectionConfig.js"

/**
 * The numbers the policy runs on.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetrySettings {
  readonly maxRetries: number
  readonly retryTimeout: Duration.Duration
  readonly connectTimeout: Duration.Duration
  readonly retryBaseDelay: Duration.Duration
  readonly retryMaxDelay: Duration.Duration
  /** Relative jitter applied to each pause, 0 to 1 (0.2: ±20 %). */
  readonly jitter: number
}

/**
 * What the policy emits for each retry it allows: handy for `Schedule.tapOutput` logging.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryStep {
  /** The number of the attempt about to start (2 for the first retry). */
  readonly attempt: number
  /** Time since the first attempt started, when the failure was seen. */
  readonly elapsed: Duration.Duration
  /** The pause before the next attempt. */
  readonly delay: Duration.Duration
  /** The failure that is being retried. */
  readonly error: unknown
}

/**
 * The schedule type the policy produces; apps may compose it into any output type.
 *
 * @since 0.1.0
 * @category models
 */
export type PolicySchedule = Schedule.Schedule<unknown, unknown>

/**
 * Settings from the connection settings.
 *
 * @since 0.1.0
 * @category constructors
 */
export const settingsFrom = (s: ConnectionSettings): RetrySettings => ({
  maxRetries: s.maxRetries,
  retryTimeout: s.retryTimeout,
  connectTimeout: s.connectTimeout,
  retryBaseDelay: s.retryBaseDelay,
  retryMaxDelay: s.retryMaxDelay,
  jitter: 0.2
})

/**
 * The latest time, after the first attempt's start, at which an attempt may start (R2).
 *
 * @since 0.1.0
 * @category utils
 */
export const latestStart = (settings: RetrySettings): Duration.Duration =>
  Duration.millis(Math.max(0, Duration.toMillis(settings.retryTimeout) - Duration.toMillis(settings.connectTimeout)))

/**
 * The pause before retry number `retry` (1-based) before jitter and before the end-of-budget cut.
 *
 * @since 0.1.0
 * @category utils
 */
export const backoff = (settings: RetrySettings, retry: number): Duration.Duration => {
  const base = Duration.toMillis(settings.retryBaseDelay)
  const cap = Duration.toMillis(settings.retryMaxDelay)
  return Duration.millis(Math.min(cap, base * Math.pow(2, Math.min(retry - 1, 30))))
}

/**
 * The policy's schedule for one request whose first attempt started at `startMillis` (epoch ms
 * from `Clock`). Its input is the error of the failed attempt; it stops at once on an error that
 * `isRetryable` rejects, after `maxRetries` retries, or when no further attempt could finish inside
 * `retryTimeout`. `isRetryable` is asked last, only when those limits allow a retry.
 *
 * @since 0.1.0
 * @category constructors
 */
export const schedule = <E>(
  settings: RetrySettings,
  startMillis: number,
  isRetryable: (error: E) => boolean
): Schedule.Schedule<RetryStep, E> => {
  const latest = Duration.toMillis(latestStart(settings))
  return Schedule.makeWithState<number, E, RetryStep>(0, (now, error, retries) =>
    Effect.gen(function*() {
      const elapsed = Math.max(0, now - startMillis)
      const stop = [
        retries,
        { attempt: retries + 1, elapsed: Duration.millis(elapsed), delay: Duration.zero, error },
        ScheduleDecision.done
      ] as const
      // `isRetryable` last: it is asked only for a retry the policy's own limits allow, so that it
      // may take a token of a shared retry budget (U1)
      if (retries >= settings.maxRetries || elapsed > latest || !isRetryable(error)) {
        return stop
      }
      const retry = retries + 1
      const nominal = Duration.toMillis(backoff(settings, retry))
      const factor = settings.jitter > 0 ? 1 + settings.jitter * (2 * (yield* Random.next) - 1) : 1
      const delay = Math.max(0, Math.min(Math.round(nominal * factor), latest - elapsed))
      return [
        retry,
        { attempt: retry + 1, elapsed: Duration.millis(elapsed), delay: Duration.millis(delay), error },
        ScheduleDecision.continueWith(ScheduleInterval.after(now + delay))
      ] as const
    }))
}

/**
 * The retry policy as a service: the ConnectionService asks it for a schedule at the start of each
 * request. Apps replace or compose it with {@link layerComposed}.
 *
 * @since 0.1.0
 * @category tags
 */
export class RetryPolicy extends Context.Tag("@stpp/connect/RetryPolicy")<RetryPolicy, {
  readonly settings: RetrySettings
  /**
   * The schedule for one request whose first attempt started at `startMillis`; errors that
   * `isRetryable` rejects end it at once.
   */
  readonly schedule: (startMillis: number, isRetryable: (error: unknown) => boolean) => PolicySchedule
}>() {}

/**
 * A policy from settings, optionally composed with the app's own schedule.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  settings: RetrySettings,
  compose: (policy: Schedule.Schedule<RetryStep, unknown>) => PolicySchedule = (policy) => policy
): RetryPolicy["Type"] => ({
  settings,
  schedule: (startMillis, isRetryable) => compose(schedule(settings, startMillis, isRetryable))
})

/**
 * The policy from the connection settings (R1 defaults: 20 retries, 40 s, 5 s per attempt).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<RetryPolicy, never, ConnectionConfig> = Layer.effect(
  RetryPolicy,
  Effect.map(ConnectionConfig, (s) => make(settingsFrom(s)))
)

/**
 * The policy composed with the app's own schedule (R4), e.g. a tighter cap, more back-off, a log
 * line per retry:
 *
 * ```ts
 * RetryPolicy.layerComposed((policy) =>
 *   policy.pipe(
 *     Schedule.intersect(Schedule.recurs(5)),
 *     Schedule.tapOutput(([step]) => Effect.logWarning("retrying", step.attempt))
 *   )
 * )
 * ```
 *
 * `Schedule.intersect` keeps both limits: the policy's budget and the app's.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerComposed = (
  compose: (policy: Schedule.Schedule<RetryStep, unknown>) => PolicySchedule
): Layer.Layer<RetryPolicy, never, ConnectionConfig> =>
  Layer.effect(RetryPolicy, Effect.map(ConnectionConfig, (s) => make(settingsFrom(s), compose)))

/**
 * A policy with explicit settings, for tests (no jitter unless given, so delays are exact).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest = (
  settings: Partial<RetrySettings> = {},
  compose?: (policy: Schedule.Schedule<RetryStep, unknown>) => PolicySchedule
): Layer.Layer<RetryPolicy> =>
  Layer.succeed(
    RetryPolicy,
    make({
      maxRetries: 20,
      retryTimeout: Duration.seconds(40),
      connectTimeout: Duration.seconds(5),
      retryBaseDelay: Duration.millis(250),
      retryMaxDelay: Duration.seconds(2),
      jitter: 0,
      ...settings
    }, compose)
  )

/**
 * Runs `attempt` under the policy: the budget starts now (`Clock`), each failure that
 * `isRetryable` accepts is retried per the schedule. The attempt's own time-out is the caller's
 * (the TlsConnector applies `connectTimeout`).
 *
 * The budget is also enforced here, before each retry starts: an app schedule composed with
 * `Schedule.intersect` may lengthen a pause, but it can never start an attempt that could not
 * finish inside `retryTimeout` (R2).
 *
 * @since 0.1.0
 * @category combinators
 */
export const retry = <A, E, R>(
  attempt: Effect.Effect<A, E, R>,
  isRetryable: (error: E) => boolean
): Effect.Effect<A, E, R | RetryPolicy> =>
  Effect.flatMap(RetryPolicy, (policy) => retryWith(policy, attempt, isRetryable))

/**
 * `retry` under a policy the caller holds (a service that captured it when it was built), without
 * providing it as a service for each call. `startMillis` (`Clock` epoch ms, default now) is when
 * the budget started: the ConnectionService passes when the caller asked, so that time spent
 * waiting for a socket counts (U2).
 *
 * @since 0.1.0
 * @category combinators
 */
export const retryWith = <A, E, R>(
  policy: RetryPolicy["Type"],
  attempt: Effect.Effect<A, E, R>,
  isRetryable: (error: E) => boolean,
  startMillis?: number
): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const now = Effect.clockWith((clock) => clock.currentTimeMillis)
    const start = startMillis ?? (yield* now)
    const latest = Duration.toMillis(latestStart(policy.settings))
    let attempts = 0
    let lastError: { readonly error: E } | undefined
    let overBudget = false
    const guarded = Effect.suspend(() => now).pipe(
      Effect.flatMap((t) => {
        if (attempts > 0 && t - start > latest && lastError !== undefined) {
          overBudget = true
          return Effect.fail(lastError.error)
        }
        attempts++
        return Effect.tapError(attempt, (error) =>
          Effect.sync(() => {
            lastError = { error }
          }))
      })
    )
    // Effect.retry's own loop, with the schedule and its driver made only once an attempt failed,
    // as most connects succeed at once (bench/RESULTS.md, "Measured choices": retryWith).
    const again = (driver: Schedule.ScheduleDriver<unknown, unknown, never>, error: E): Effect.Effect<A, E, R> =>
      Effect.matchEffect(driver.next(error), {
        onFailure: () => Effect.fail(error),
        onSuccess: () => Effect.catchAll(guarded, (next) => again(driver, next))
      })
    return yield* Effect.catchAll(guarded, (error) =>
      Effect.flatMap(
        Schedule.driver(policy.schedule(start, (e) => !overBudget && isRetryable(e as E))),
        (driver) => again(driver, error)
      ))
  })
