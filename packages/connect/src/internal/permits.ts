/**
 * A first-come, first-served bound on requests in flight, in plain callbacks so that a request
 * waiting for a permit costs no fiber of its own (like undici's own queue). A released permit goes
 * straight to the oldest waiter: nobody can barge ahead, as a caller asking again at once can with
 * Effect's `Semaphore` (bench/RESULTS.md, "Measured choices": Permits).
 *
 * @internal
 */

/** Who asks for a permit. @internal */
export interface Grantee {
  readonly granted: () => void
}

/** @internal */
export interface Permits {
  /**
   * Asks for a permit: `grantee.granted` is called once it is ours: at once when one is free,
   * otherwise when it is our turn, inside the call of the `release` that handed it over. The
   * returned function withdraws a request still waiting.
   */
  readonly request: (grantee: Grantee) => () => void
  /** Hands back a permit that was granted: to the oldest waiter, if any. */
  readonly release: () => void
  /** Requests waiting for a permit. */
  readonly waiting: () => number
  /** Permits free now. */
  readonly available: () => number
}

const noop = (): void => {}

/** @internal */
export const make = (permits: number): Permits => {
  let available = permits
  const waiters: Array<Grantee> = []
  const release = (): void => {
    const next = waiters.shift()
    if (next === undefined) {
      available++
      return
    }
    // At once, in the releaser's call, as undici's own Pool hands a freed connection on
    // (bench/RESULTS.md, "Measured choices": Permits).
    next.granted()
  }
  return {
    request: (grantee) => {
      if (available > 0) {
        available--
        grantee.granted()
        return noop
      }
      waiters.push(grantee)
      return () => {
        const i = waiters.indexOf(grantee)
        if (i >= 0) waiters.splice(i, 1)
      }
    },
    release,
    waiting: () => waiters.length,
    available: () => available
  }
}
