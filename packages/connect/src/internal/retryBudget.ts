/**
 * The connect retry budget shared by all requests of one ConnectionService (U1): a token bucket
 * after the AWS SDKs' retry quota (aws-sdk-js-v3 middleware-retry: 500 tokens, a retry costs 5, a
 * time-out 10, a success refunds 1) and gRPC's retry throttling (retry_throttle.cc: a bucket per
 * channel, retries stop below a threshold). While it holds, every request retries as R1/R2 say.
 * Once a retry finds too few tokens it is spent: nothing is retried, and new connects are bounded
 * to `probes` at once, one round per `probeDelayMillis`; requests meanwhile wait for the probes'
 * outcome (or fail fast when none is in flight). A successful connect ends it, with the bucket
 * back to at least half, so that traffic resumes at once without a herd of SYNs.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { RetryBudgetSpent } from "../ConnectionError.js"
import type { DnsError } from "../ResolverError.js"
import type { ConnectPhaseError } from "../TlsError.js"
import { metrics } from "./metrics.js"

/** @internal */
export interface Options {
  /** Tokens; 0: no shared budget (every request retries as R1/R2 alone). */
  readonly capacity: number
  readonly cost: number
  readonly timeoutCost: number
  readonly refund: number
  readonly probes: number
  /** The pause after a failed probe before the next one may start. */
  readonly probeDelayMillis: number
}

/** How a request may make its first connect attempt. @internal */
export type Admission = "free" | "probe"

type Failure = DnsError | ConnectPhaseError

const isTimeout = (e: Failure): boolean => e._tag === "ConnectTimeout" || e._tag === "HandshakeTimeout"

/** @internal */
export class RetryBudget {
  tokens: number
  /** Spent: no retries; connects only as probes. */
  spent = false
  /** Probes in flight. */
  probing = 0
  /** No probe starts before this (epoch ms). */
  nextProbeAt = Number.NEGATIVE_INFINITY
  /** The last connect failure of any request. */
  last: Failure | undefined = undefined
  /** Requests waiting for the probes' outcome: `true` once one connected. */
  private readonly waiters: Array<(connected: boolean) => void> = []

  constructor(readonly options: Options) {
    this.tokens = options.capacity
    metrics.budgetTokens.unsafeUpdate(this.tokens, [])
  }

  /** The error of a request that the spent budget stops; `last` is the request's own failure when it had one. */
  spentError(last: Failure | undefined): RetryBudgetSpent | undefined {
    const failure = last ?? this.last
    if (failure === undefined) return undefined
    metrics.budgetSpent.unsafeUpdate(1, [])
    return new RetryBudgetSpent({ last: failure, tokens: this.tokens, capacity: this.options.capacity })
  }

  /**
   * Before a request's connect: at once while the budget holds; while it is spent, as one of the
   * probes when one may start now, else after the probes in flight connected; failing fast when
   * none is in flight.
   */
  admit(now: number): Effect.Effect<Admission, RetryBudgetSpent> {
    if (!this.spent) return Effect.succeed("free")
    if (this.probing < this.options.probes && now >= this.nextProbeAt) {
      this.probing++
      metrics.budgetProbes.unsafeUpdate(1, [])
      return Effect.succeed("probe")
    }
    if (this.probing === 0) return this.refuse()
    return Effect.flatMap(
      Effect.async<boolean>((resume) => {
        const waiter = (connected: boolean) => resume(Effect.succeed(connected))
        this.waiters.push(waiter)
        return Effect.sync(() => {
          const i = this.waiters.indexOf(waiter)
          if (i >= 0) this.waiters.splice(i, 1)
        })
      }),
      (connected) => connected ? Effect.succeed<Admission>("free") : this.refuse()
    )
  }

  private refuse(): Effect.Effect<never, RetryBudgetSpent> {
    return Effect.suspend(() => {
      const error = this.spentError(undefined)
      // spent implies a failure was seen: `last` is set before the budget can be spent
      return error === undefined ? Effect.die("retry budget spent without a failure") : Effect.fail(error)
    })
  }

  /** A connect attempt failed. */
  failed(error: Failure): void {
    this.last = error
  }

  /** Whether a failed attempt may be retried: takes its tokens, or spends the budget. */
  allowRetry(error: Failure): boolean {
    const { capacity, cost, timeoutCost } = this.options
    if (capacity === 0) return true
    if (this.spent) return false
    const price = isTimeout(error) ? timeoutCost : cost
    if (this.tokens >= price) {
      this.tokens -= price
      metrics.budgetTokens.unsafeUpdate(this.tokens, [])
      return true
    }
    this.spent = true
    return false
  }

  /** A request's connect ended: a success refunds (and ends a spent budget), a failed probe paces the next. */
  ended(admission: Admission, connected: boolean, now: number): void {
    const { capacity, probeDelayMillis, refund } = this.options
    if (admission === "probe") this.probing--
    if (connected) {
      if (capacity === 0) return
      this.tokens = Math.min(capacity, this.tokens + refund)
      if (this.spent) {
        this.spent = false
        this.tokens = Math.max(this.tokens, Math.ceil(capacity / 2))
        this.nextProbeAt = Number.NEGATIVE_INFINITY
      }
      metrics.budgetTokens.unsafeUpdate(this.tokens, [])
      this.wake(true)
      return
    }
    if (admission === "probe") {
      this.nextProbeAt = now + probeDelayMillis
      if (this.probing === 0) this.wake(false)
    }
  }

  private wake(connected: boolean): void {
    if (this.waiters.length === 0) return
    const waiters = this.waiters.splice(0)
    for (const waiter of waiters) waiter(connected)
  }
}
