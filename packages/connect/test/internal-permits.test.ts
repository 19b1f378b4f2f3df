import { describe, expect, it } from "@effect/vitest"
import * as Permits from "../src/internal/permits.js"

describe("internal/permits", () => {
  it("C1: requests beyond the bound wait, and are served first come, first served", () => {
    const permits = Permits.make(2)
    const order: Array<number> = []
    for (const n of [1, 2, 3, 4, 5]) permits.request({ granted: () => order.push(n) })
    // two at once, in the caller's own call
    expect(order).toEqual([1, 2])
    expect(permits.waiting()).toBe(3)
    // a released permit goes to the oldest waiter, in the releaser's call: nobody barges ahead
    permits.release()
    expect(order).toEqual([1, 2, 3])
    permits.request({ granted: () => order.push(6) })
    permits.release()
    permits.release()
    expect(order).toEqual([1, 2, 3, 4, 5])
    permits.release()
    expect(order).toEqual([1, 2, 3, 4, 5, 6])
    expect(permits.waiting()).toBe(0)
    // all six done: both permits free again
    permits.release()
    permits.release()
    expect(permits.available()).toBe(2)
  })

  it("C1: a withdrawn waiter leaves the queue and is never granted; no permit is lost", () => {
    const permits = Permits.make(1)
    const granted: Array<string> = []
    permits.request({ granted: () => granted.push("holder") })
    const withdrawA = permits.request({ granted: () => granted.push("a") })
    permits.request({ granted: () => granted.push("b") })
    expect(permits.waiting()).toBe(2)
    withdrawA()
    expect(permits.waiting()).toBe(1)
    permits.release()
    expect(granted).toEqual(["holder", "b"])
    // withdrawing after the grant changes nothing
    withdrawA()
    permits.release()
    expect(permits.available()).toBe(1)
    expect(permits.waiting()).toBe(0)
  })
})
