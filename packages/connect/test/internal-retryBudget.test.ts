import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as ConnectionConfig from "../src/ConnectionConfig.js"
import { RetryBudget } from "../src/internal/retryBudget.js"
import { ConnectRefused, ConnectTimeout } from "../src/TlsError.js"

const refused = new ConnectRefused({ host: "gw.test", address: "127.0.0.1", port: 9 })
const timedOut = new ConnectTimeout({ host: "gw.test", address: "127.0.0.1", port: 9, timeoutMillis: 100 })
const options = { capacity: 20, cost: 5, timeoutCost: 10, refund: 1, probes: 2, probeDelayMillis: 100 }

/** Spends a fresh budget with refused connects; returns it and how many retries it allowed. */
const spend = (b: RetryBudget): number => {
  let allowed = 0
  for (let i = 0; i < 100 && !b.spent; i++) {
    b.failed(refused)
    if (b.allowRetry(refused)) allowed++
  }
  return allowed
}

describe("RetryBudget (U1)", () => {
  it("holds: a retry takes its cost (10 for a time-out), a success refunds up to the capacity", () => {
    const b = new RetryBudget(options)
    expect(b.allowRetry(refused)).toBe(true)
    expect(b.tokens).toBe(15)
    expect(b.allowRetry(timedOut)).toBe(true)
    expect(b.tokens).toBe(5)
    b.ended("free", true, 0)
    expect(b.tokens).toBe(6)
    for (let i = 0; i < 50; i++) b.ended("free", true, 0)
    expect(b.tokens).toBe(20)
    expect(b.spent).toBe(false)
  })

  it("capacity 0: no shared budget, every retry allowed", () => {
    const b = new RetryBudget({ ...options, capacity: 0 })
    for (let i = 0; i < 1000; i++) expect(b.allowRetry(timedOut)).toBe(true)
    expect(b.spent).toBe(false)
  })

  it.effect("spent: no retry, and a new request fails fast with RetryBudgetSpent naming the last failure", () =>
    Effect.gen(function*() {
      const b = new RetryBudget(options)
      expect(spend(b)).toBe(4) // 20 tokens / 5
      expect(b.spent).toBe(true)
      expect(b.allowRetry(refused)).toBe(false)
      // two probes may start at once; the third request has nobody to wait for only when none is in flight
      expect(yield* b.admit(0)).toBe("probe")
      expect(yield* b.admit(0)).toBe("probe")
      expect(b.probing).toBe(2)
      b.ended("probe", false, 0)
      b.ended("probe", false, 0)
      const error = yield* Effect.flip(b.admit(50))
      expect(error._tag).toBe("RetryBudgetSpent")
      expect(error.last).toBe(refused)
      expect(error.capacity).toBe(20)
      expect(error.message).toMatch(/retry budget is spent.*refused/)
    }))

  it.effect("probes: at most STPP_RETRY_BUDGET_PROBES at once, one base delay between failed probes", () =>
    Effect.gen(function*() {
      const b = new RetryBudget(options)
      spend(b)
      expect(yield* b.admit(0)).toBe("probe")
      expect(yield* b.admit(0)).toBe("probe")
      // the third waits for the probes' outcome
      const waiting = yield* Effect.fork(b.admit(0))
      yield* Effect.yieldNow()
      expect(b.probing).toBe(2)
      b.ended("probe", false, 10)
      expect(waiting.unsafePoll()).toBeNull()
      b.ended("probe", false, 20)
      const exit = yield* Fiber.await(waiting)
      expect(Exit.isFailure(exit)).toBe(true) // no probe connected: fail fast
      // the next probe only after one base delay from the last failed probe
      expect(yield* Effect.flip(b.admit(119))).toMatchObject({ _tag: "RetryBudgetSpent" })
      expect(yield* b.admit(120)).toBe("probe")
    }))

  it.effect("a successful probe ends the spent state: waiters go on, tokens back to half", () =>
    Effect.gen(function*() {
      const b = new RetryBudget(options)
      spend(b)
      expect(yield* b.admit(0)).toBe("probe")
      const waiting = yield* Effect.fork(b.admit(0).pipe(Effect.zip(b.admit(0))))
      yield* Effect.yieldNow()
      b.ended("probe", true, 5)
      const exit = yield* Fiber.await(waiting)
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(b.spent).toBe(false)
      expect(b.tokens).toBeGreaterThanOrEqual(10)
      expect(b.allowRetry(refused)).toBe(true)
      expect(yield* b.admit(6)).toBe("free")
    }))
})

const problem = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConnectionConfig.config, ConfigProvider.fromMap(new Map(Object.entries(env)))).pipe(
    Effect.flip,
    Effect.map(ConnectionConfig.formatConfigError)
  )

describe("STPP_RETRY_BUDGET settings", () => {
  it.effect("defaults and out-of-range values name the setting and what is allowed", () =>
    Effect.gen(function*() {
      const s = ConnectionConfig.defaults
      expect([s.retryBudget, s.retryBudgetCost, s.retryBudgetTimeoutCost, s.retryBudgetRefund, s.retryBudgetProbes])
        .toEqual([500, 5, 10, 1, 2])
      expect(yield* problem({ STPP_RETRY_BUDGET: "-1" })).toMatch(/^STPP_RETRY_BUDGET: -1 is out of range; allowed:/)
      expect(yield* problem({ STPP_RETRY_BUDGET_COST: "0" })).toMatch(/^STPP_RETRY_BUDGET_COST: 0 is out of range/)
      expect(yield* problem({ STPP_RETRY_BUDGET_TIMEOUT_COST: "0" })).toMatch(/^STPP_RETRY_BUDGET_TIMEOUT_COST: 0 is/)
      expect(yield* problem({ STPP_RETRY_BUDGET_REFUND: "x" })).toMatch(/^STPP_RETRY_BUDGET_REFUND: the value given/)
      expect(yield* problem({ STPP_RETRY_BUDGET_PROBES: "65" })).toMatch(
        /^STPP_RETRY_BUDGET_PROBES: 65 is out of range/
      )
    }))

  it.effect("a cost above the budget is refused, naming the cost setting", () =>
    Effect.gen(function*() {
      expect(yield* problem({ STPP_RETRY_BUDGET: "4" })).toMatch(
        /^STPP_RETRY_BUDGET_COST: 5 is more than STPP_RETRY_BUDGET \(4\)/
      )
      expect(yield* problem({ STPP_RETRY_BUDGET: "8" })).toMatch(/^STPP_RETRY_BUDGET_TIMEOUT_COST: 10 is more than/)
      // with no shared budget the costs are not checked against it
      const off = yield* problem({ STPP_RETRY_BUDGET: "0", STPP_RETRY_BUDGET_COST: "50" }).pipe(Effect.flip)
      expect([off.retryBudget, off.retryBudgetCost]).toEqual([0, 50])
    }))
})
