import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Permits from "../src/internal/permits.js"

describe("internal/permits", () => {
  it.effect("C1: requests beyond the bound wait, and are served first come, first served", () =>
    Effect.gen(function*() {
      const permits = Permits.make(2)
      const order: Array<number> = []
      const gate = yield* Deferred.make<void>()
      const hold = (n: number) =>
        permits.withPermit(Effect.sync(() => order.push(n)).pipe(Effect.zipRight(Deferred.await(gate))))
      const fibers = yield* Effect.forEach([1, 2, 3, 4, 5], (n) => Effect.fork(hold(n)))
      yield* Effect.yieldNow()
      expect(order).toEqual([1, 2])
      expect(permits.waiting()).toBe(3)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll(fibers)
      expect(order).toEqual([1, 2, 3, 4, 5])
      expect(permits.waiting()).toBe(0)
    }))

  it.effect("C1: an interrupted waiter leaves the queue and a permit is never lost", () =>
    Effect.gen(function*() {
      const permits = Permits.make(1)
      const gate = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(permits.withPermit(Deferred.await(gate)))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(permits.withPermit(Effect.void))
      yield* Effect.yieldNow()
      expect(permits.waiting()).toBe(1)
      yield* Fiber.interrupt(waiter)
      expect(permits.waiting()).toBe(0)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      // the permit came back: a new request runs at once
      expect(yield* permits.withPermit(Effect.succeed("ran"))).toBe("ran")
    }))
})
