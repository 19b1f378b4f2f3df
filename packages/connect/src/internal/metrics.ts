/**
 * The service's counters and histograms, and how a finished request is recorded in them.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import type { RequestError } from "../ConnectionError.js"

/** @internal */
export const metrics = {
  /** Connect attempts made (each TCP + TLS handshake tried). */
  attempts: Metric.counter("stpp_connect_attempts_total", { incremental: true }),
  /** Connect attempts that failed and were retried, tagged by `reason` (the error's tag). */
  retries: Metric.counter("stpp_connect_retries_total", { incremental: true }),
  /** Requests by `outcome`: ok, not_sent, refused, outcome_unknown. */
  requests: Metric.counter("stpp_requests_total", { incremental: true }),
  /** Connections retired, tagged by `reason` (dns-ttl-expired, idle, closed, max-requests, failed). */
  retired: Metric.counter("stpp_connections_retired_total", { incremental: true }),
  /** Tokens left in the shared connect retry budget (U1); the last service to change it sets it. */
  budgetTokens: Metric.gauge("stpp_retry_budget_tokens"),
  /** Requests that ended `NotSent` because the retry budget was spent (U1). */
  budgetSpent: Metric.counter("stpp_retry_budget_spent_total", { incremental: true }),
  /** Probe connects made while the retry budget was spent (U1). */
  budgetProbes: Metric.counter("stpp_retry_budget_probes_total", { incremental: true }),
  /** DNS queries sent to a further server because the others had not answered within the hedge delay (U3). */
  dnsHedges: Metric.counter("stpp_dns_hedges_total", { incremental: true }),
  /** DNS lookups answered by a server asked by a hedge (U3). */
  dnsHedgeWins: Metric.counter("stpp_dns_hedge_wins_total", { incremental: true }),
  /** New connections whose TLS handshake resumed a session of an earlier verified one (P3). */
  tlsResumed: Metric.counter("stpp_tls_sessions_resumed_total", { incremental: true }),
  /** Connect phase duration for a new connection, ms. */
  connectLatency: Metric.histogram(
    "stpp_connect_duration_ms",
    MetricBoundaries.exponential({ start: 1, factor: 2, count: 17 })
  ),
  /** Whole request duration, ms. */
  requestLatency: Metric.histogram(
    "stpp_request_duration_ms",
    MetricBoundaries.exponential({ start: 1, factor: 2, count: 17 })
  )
}

const outcomeCounters = {
  ok: Metric.tagged(metrics.requests, "outcome", "ok"),
  not_sent: Metric.tagged(metrics.requests, "outcome", "not_sent"),
  refused: Metric.tagged(metrics.requests, "outcome", "refused"),
  outcome_unknown: Metric.tagged(metrics.requests, "outcome", "outcome_unknown")
}

// tagged once per reason: a tagged metric is a new key, hashed, each time it is made
const retiredCounters = new Map<string, Metric.Metric.Counter<number>>()

/** The retired-connections counter for `reason`. @internal */
export const retiredCounter = (reason: string): Metric.Metric.Counter<number> => {
  let counter = retiredCounters.get(reason)
  if (counter === undefined) {
    counter = Metric.tagged(metrics.retired, "reason", reason)
    retiredCounters.set(reason, counter)
  }
  return counter
}

/**
 * Metrics for a request answered, tagged like any other metric of the calling fiber
 * (`Effect.tagMetrics`: its labels, read when the request started).
 *
 * @internal
 */
export const recordOk = (elapsedMillis: number, labels: ReadonlyArray<MetricLabel.MetricLabel>): void => {
  outcomeCounters.ok.unsafeUpdate(1, labels)
  metrics.requestLatency.unsafeUpdate(elapsedMillis, labels)
}

/** Metrics for a finished request, however it ended. @internal */
export const recordExit = <A extends { readonly elapsedMillis: number }>(
  exit: Exit.Exit<A, RequestError>,
  labels: ReadonlyArray<MetricLabel.MetricLabel>
): void => {
  if (Exit.isSuccess(exit)) return recordOk(exit.value.elapsedMillis, labels)
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) return
  const e = failure.value
  const counter = e._tag === "NotSent"
    ? outcomeCounters.not_sent
    : e._tag === "Refused"
    ? outcomeCounters.refused
    : outcomeCounters.outcome_unknown
  counter.unsafeUpdate(1, labels)
}
