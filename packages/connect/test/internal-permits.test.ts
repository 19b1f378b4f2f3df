import { describe, expect, it } from "@effect/vitest"
import * as Permits from "../src/internal/permits.js"

const microtasks = () => new Promise<void>((resolve) => setImmediate(resolve))

describe("internal/permits", () => {
  it("C1: requests beyond the bound wait, and are served first come, first served", async () => {
    const permits = Permits.make(2)
    const order: Array<number> = []
    for (const n of [1, 2, 3, 4, 5]) permits.request(() => order.push(n))
    // two at once, in the caller's own call
    expect(order).toEqual([1, 2])
    expect(permits.waiting()).toBe(3)
    permits.release()
    // handed over from a microtask, never inside the releaser's call
    expect(order).toEqual([1, 2])
    await microtasks()
    expect(order).toEqual([1, 2, 3])
    permits.release()
    permits.release()
    await microtasks()
    expect(order).toEqual([1, 2, 3, 4, 5])
    expect(permits.waiting()).toBe(0)
    // all five done: both permits free again
    permits.release()
    permits.release()
    expect(permits.available()).toBe(2)
  })

  it("C1: a withdrawn waiter leaves the queue, and a permit handed to one that withdrew is passed on", async () => {
    const permits = Permits.make(1)
    const granted: Array<string> = []
    permits.request(() => granted.push("holder"))
    const withdrawA = permits.request(() => granted.push("a"))
    const withdrawB = permits.request(() => granted.push("b"))
    permits.request(() => granted.push("c"))
    expect(permits.waiting()).toBe(3)
    // still waiting: leaves the queue
    withdrawA()
    expect(permits.waiting()).toBe(2)
    // handed over, then withdrawn before it arrived: it goes on to the next
    permits.release()
    withdrawB()
    await microtasks()
    expect(granted).toEqual(["holder", "c"])
    // the permit came back: nobody waits, one is free
    permits.release()
    expect(permits.available()).toBe(1)
    expect(permits.waiting()).toBe(0)
  })
})
