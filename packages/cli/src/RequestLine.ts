/**
 * What `stpp request` prints and exits with: the outcome of each request, its JSON line (the
 * contract) and the exit code of each outcome.
 *
 * @since 0.1.0
 */

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * What happened to one request: `ok` (the gateway answered it), `not_sent` (the connect phase
 * failed; nothing was written: safe to retry later), `outcome_unknown` (request bytes were written
 * and no usable answer came back, or the gateway answered errorcode 60010, 60034 or 99999, "the
 * final status is not known": do not resend, look it up), `refused` (the library refused to
 * connect for security, e.g. a certificate failure; nothing was sent), `unauthenticated` (HTTP 401
 * or errorcode 60022: the gateway did not accept STPP_USERNAME / STPP_PASSWORD; nothing was
 * processed).
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "ok" | "not_sent" | "outcome_unknown" | "refused" | "unauthenticated"

/**
 * The JSON line printed for each request. The first six fields are the contract; the others are
 * additions.
 *
 * @since 0.1.0
 * @category models
 */
export interface Line {
  readonly outcome: Outcome
  /** The gateway address the request went to (or the last one tried); null when DNS never answered. */
  readonly address: string | null
  /** Connect attempts made for this request (0 when a kept-alive connection was reused). */
  readonly attempts: number
  readonly elapsedMs: number
  /**
   * The most specific error tag, e.g. "ConnectRefused", "CertificateExpired", "OutcomeUnknown",
   * "FinalStatusUnknown" (errorcode 60010/60034/99999), "Unauthenticated"; null when ok.
   */
  readonly error: string | null
  /**
   * The gateway's JSON answer (redacted like a log line): set when ok, and for `outcome_unknown`
   * when the gateway answered errorcode 60010, 60034 or 99999; null otherwise.
   */
  readonly response: unknown
  /** The request reference sent (`requestreference`): what to look the request up by. */
  readonly reference: string
  /** The HTTP status, when a response came back. */
  readonly status: number | null
  /** Whether a kept-alive connection was reused. */
  readonly reused: boolean
  /** The error's message for an operator (redacted); absent when ok. */
  readonly message?: string
}

/**
 * The exit code of each outcome; with `--repeat` the highest one is the process's.
 *
 * @since 0.1.0
 * @category models
 */
export const exitCodes: Readonly<Record<Outcome, number>> = {
  ok: 0,
  not_sent: 3,
  outcome_unknown: 4,
  refused: 5,
  unauthenticated: 2
}
