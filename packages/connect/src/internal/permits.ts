/**
 * A first-come, first-served bound on requests in flight, in plain callbacks so that a request
 * waiting for a permit costs no fiber of its own (like undici's own queue). A released permit goes
 * straight to the oldest waiter: nobody can barge ahead (Effect's `Semaphore` lets a caller that
 * asks again at once take it first, which under load left some requests waiting for seconds).
 *
 * @internal
 */

/** @internal */
export interface Permits {
  /**
   * Asks for a permit: `granted` is called once it is ours, at once when one is free, otherwise
   * when it is our turn (from a microtask, never inside the releaser's own call). The returned
   * function withdraws the request; a permit handed over meanwhile is passed on, not lost.
   */
  readonly request: (granted: () => void) => () => void
  /** Hands back a permit that was granted: to the oldest waiter, if any. */
  readonly release: () => void
  /** Requests waiting for a permit. */
  readonly waiting: () => number
  /** Permits free now. */
  readonly available: () => number
}

interface Waiter {
  readonly granted: () => void
  withdrawn: boolean
}

const noop = (): void => {}

/** @internal */
export const make = (permits: number): Permits => {
  let available = permits
  const waiters: Array<Waiter> = []
  const release = (): void => {
    const next = waiters.shift()
    if (next === undefined) {
      available++
      return
    }
    queueMicrotask(() => {
      if (next.withdrawn) release()
      else next.granted()
    })
  }
  return {
    request: (granted) => {
      if (available > 0) {
        available--
        granted()
        return noop
      }
      const waiter: Waiter = { granted, withdrawn: false }
      waiters.push(waiter)
      return () => {
        const i = waiters.indexOf(waiter)
        if (i >= 0) waiters.splice(i, 1)
        // already handed over (its microtask is pending): it passes the permit on
        else waiter.withdrawn = true
      }
    },
    release,
    waiting: () => waiters.length,
    available: () => available
  }
}
