import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { Slots } from "../src/internal/slots.js"

interface Item {
  readonly id: number
  slot: number
}

const item = (id: number): Item => ({ id, slot: -1 })

describe("internal/slots", () => {
  it("holds what was added and not deleted; deleting twice, or what was never added, is false", () => {
    const slots = new Slots<Item>()
    const [a, b, c] = [item(1), item(2), item(3)]
    slots.add(a)
    slots.add(b)
    slots.add(c)
    slots.add(b) // twice: still once
    expect(slots.size).toBe(3)
    expect(slots.delete(a)).toBe(true)
    expect(slots.delete(a)).toBe(false)
    expect(slots.delete(item(4))).toBe(false)
    expect(slots.has(a)).toBe(false)
    expect(slots.has(b) && slots.has(c)).toBe(true)
    expect(slots.toArray().map((i) => i.id).sort()).toEqual([2, 3])
    slots.clear()
    expect(slots.size).toBe(0)
    expect(b.slot).toBe(-1)
  })

  it("behaves as a Set under any sequence of adds and deletes", () =>
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(FastCheck.tuple(FastCheck.boolean(), FastCheck.integer({ min: 0, max: 15 })), {
          maxLength: 200
        }),
        (ops) => {
          const items = Array.from({ length: 16 }, (_, i) => item(i))
          const slots = new Slots<Item>()
          const model = new Set<number>()
          for (const [add, i] of ops) {
            if (add) {
              slots.add(items[i])
              model.add(i)
            } else {
              expect(slots.delete(items[i])).toBe(model.delete(i))
            }
          }
          expect(slots.size).toBe(model.size)
          expect(slots.toArray().map((x) => x.id).sort((x, y) => x - y)).toEqual([...model].sort((x, y) => x - y))
          for (const x of items) expect(slots.has(x)).toBe(model.has(x.id))
        }
      )
    ))
})
