/**
 * A set of objects that each know their own slot: add, delete and membership in O(1), held in a
 * plain array with swap-removal.
 *
 * Not a `Set`, for objects added and deleted thousands of times a second (requests in flight,
 * connections): a churning `Set` kept its old hash tables, and what they held, alive in the old
 * generation (bench/RESULTS.md, "Measured choices": Slots).
 *
 * @internal
 */

/** What a `Slots` holds: its `slot` is the set's to manage (-1 when not in one). @internal */
export interface Slotted {
  slot: number
}

/** @internal */
export class Slots<A extends Slotted> {
  private readonly items: Array<A> = []

  get size(): number {
    return this.items.length
  }

  has(item: A): boolean {
    return item.slot >= 0 && this.items[item.slot] === item
  }

  add(item: A): void {
    if (this.has(item)) return
    item.slot = this.items.length
    this.items.push(item)
  }

  /** Whether it was there. */
  delete(item: A): boolean {
    if (!this.has(item)) return false
    const slot = item.slot
    item.slot = -1
    const last = this.items.pop()!
    if (last !== item) {
      this.items[slot] = last
      last.slot = slot
    }
    return true
  }

  /** A copy of what it holds now, to iterate while deleting. */
  toArray(): Array<A> {
    return this.items.slice()
  }

  clear(): void {
    for (const item of this.items) item.slot = -1
    this.items.length = 0
  }
}
