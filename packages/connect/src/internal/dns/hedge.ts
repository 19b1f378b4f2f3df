/**
 * The hedge delay (U3): how long a DNS query is left alone before the next server is asked too.
 * Learned from the servers' answer times with RFC 6298's estimator (SRTT + 4 * RTTVAR, the one TCP
 * and Unbound use for their time-outs), per server; the delay is the best server's estimate, kept
 * between `dnsHedgeMinDelay` and `dnsHedgeMaxDelay`. Before any answer is seen it is the cap.
 *
 * @internal
 */
import * as Duration from "effect/Duration"

/** One server's smoothed answer time and its variation, ms. @internal */
export interface Estimate {
  readonly srtt: number
  readonly rttvar: number
  readonly samples: number
}

/** @internal */
export interface HedgeDelay {
  /** Records one answer's time (query sent to reply read), ms. */
  readonly observe: (key: string, millis: number) => void
  /** The current hedge delay, ms: the best server's SRTT + 4 * RTTVAR, clamped to the floor and cap. */
  readonly delayMillis: () => number
  /** The server's estimate, if it has answered. */
  readonly estimate: (key: string) => Estimate | undefined
}

// RFC 6298, section 2: alpha = 1/8, beta = 1/4, K = 4.
const ALPHA = 1 / 8
const BETA = 1 / 4
const K = 4

/** The next estimate after one more sample (RFC 6298, 2.2 and 2.3). @internal */
export const next = (previous: Estimate | undefined, sample: number): Estimate =>
  previous === undefined
    ? { srtt: sample, rttvar: sample / 2, samples: 1 }
    : {
      rttvar: (1 - BETA) * previous.rttvar + BETA * Math.abs(previous.srtt - sample),
      srtt: (1 - ALPHA) * previous.srtt + ALPHA * sample,
      samples: previous.samples + 1
    }

/** An estimate as a delay, ms (RFC 6298's RTO, without its 1 s minimum). @internal */
export const delayOf = (e: Estimate): number => e.srtt + K * e.rttvar

/** @internal */
export const make = (
  settings: { readonly dnsHedgeMinDelay: Duration.Duration; readonly dnsHedgeMaxDelay: Duration.Duration }
): HedgeDelay => {
  const floor = Duration.toMillis(settings.dnsHedgeMinDelay)
  const cap = Math.max(floor, Duration.toMillis(settings.dnsHedgeMaxDelay))
  const estimates = new Map<string, Estimate>()
  // Recomputed on each sample, not on each lookup.
  let best = Number.POSITIVE_INFINITY

  const observe = (key: string, millis: number): void => {
    estimates.set(key, next(estimates.get(key), Math.max(0, millis)))
    best = Math.min(...Array.from(estimates.values(), delayOf))
  }

  const delayMillis = (): number => Number.isFinite(best) ? Math.min(cap, Math.max(floor, best)) : cap

  return { observe, delayMillis, estimate: (key) => estimates.get(key) }
}
