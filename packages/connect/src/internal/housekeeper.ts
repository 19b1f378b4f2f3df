/**
 * Background work that sleeps until the next deadline it knows of (an IO deadline, an idle
 * connection's TTL or idle limit), never on a fixed tick: an idle service costs nothing, also under
 * `TestClock.adjust("1 hour")`. Whoever adds an earlier deadline calls `notify`, which costs a
 * comparison when the sleeper already wakes in time (the warm path calls it per request).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

/** @internal */
export class Housekeeper {
  /** When the sleeper wakes next (epoch ms); `Infinity` while it waits for a notification. */
  private wakeAt = Number.POSITIVE_INFINITY
  private waiter: (() => void) | undefined = undefined
  /** A notification came while nobody waited: the next wait returns at once. */
  private pending = false

  /** A deadline exists at `deadline` (epoch ms): wake earlier if the sleeper would miss it. */
  notify(deadline: number): void {
    if (deadline >= this.wakeAt) return
    this.wakeAt = deadline
    const waiter = this.waiter
    this.waiter = undefined
    if (waiter !== undefined) waiter()
    else this.pending = true
  }

  private readonly notified: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.pending) {
      this.pending = false
      resume(Effect.void)
      return
    }
    this.waiter = () => resume(Effect.void)
    return Effect.sync(() => {
      this.waiter = undefined
    })
  })

  /**
   * Runs `sweep` at each deadline, for ever: `sweep(now)` does what is due and returns the next
   * deadline it knows of (`Infinity` for none).
   */
  run(sweep: (now: number) => Effect.Effect<number>): Effect.Effect<never> {
    return Effect.gen(this, function*() {
      for (;;) {
        // a deadline added while the sweep runs is caught by sweeping again at once
        this.wakeAt = Number.POSITIVE_INFINITY
        this.pending = false
        const now = yield* Clock.currentTimeMillis
        const next = yield* sweep(now)
        if (this.pending) continue
        this.wakeAt = next
        if (next === Number.POSITIVE_INFINITY) yield* this.notified
        else yield* Effect.raceFirst(Effect.sleep(Math.max(1, next - now)), this.notified)
      }
    })
  }
}
