/**
 * A first-come, first-served bound on requests in flight. Effect's `Semaphore` does not hand a
 * released permit to the oldest waiter (a caller that asks again at once can take it first), which
 * under load left some requests waiting for seconds; here a released permit goes straight to the
 * oldest waiter.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"

/** @internal */
export interface Permits {
  readonly withPermit: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Requests waiting for a permit. */
  readonly waiting: () => number
}

/** @internal */
export const make = (permits: number): Permits => {
  let available = permits
  const waiters: Array<Deferred.Deferred<void>> = []
  const release = (): void => {
    const next = waiters.shift()
    if (next !== undefined) Deferred.unsafeDone(next, Exit.void)
    else available++
  }
  const acquire: Effect.Effect<void> = Effect.suspend(() => {
    if (available > 0) {
      available--
      return Effect.void
    }
    const deferred = Deferred.unsafeMake<void>(FiberId.none)
    waiters.push(deferred)
    return Deferred.await(deferred).pipe(
      Effect.onInterrupt(() =>
        Effect.sync(() => {
          const i = waiters.indexOf(deferred)
          // still waiting: leave the queue; already handed a permit: pass it on
          if (i >= 0) waiters.splice(i, 1)
          else release()
        })
      )
    )
  })
  return {
    withPermit: (effect) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(restore(acquire), restore(effect).pipe(Effect.ensuring(Effect.sync(release))))
      ),
    waiting: () => waiters.length
  }
}
