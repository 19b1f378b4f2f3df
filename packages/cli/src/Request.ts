/**
 * `stpp request --body FILE`: sends one gateway request (or `--repeat N` of them from one process,
 * reusing the service and its connections) through the `ConnectionService`, and prints one JSON
 * line per request on standard output. The exit code says what happened to the worst of them.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Settings from "./internal/settings.js"

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

// -----------------------------------------------------------------------------
// the command
// -----------------------------------------------------------------------------

const options = {
  body: Options.text("body").pipe(
    Options.withPseudoName("FILE"),
    Options.withDescription(
      "A JSON file holding the request object (or an array of them) for the envelope's \"request\"; " +
        "alias, version and the request reference are added. Its content is never printed."
    )
  ),
  url: Settings.single("url"),
  nameserver: Settings.repeated("nameserver"),
  ca: Settings.repeated("ca"),
  maxRetries: Settings.single("max-retries"),
  retryTimeout: Settings.single("retry-timeout"),
  connectTimeout: Settings.single("connect-timeout"),
  ioTimeout: Settings.single("io-timeout"),
  dnsTimeout: Settings.single("dns-timeout"),
  repeat: Options.text("repeat").pipe(
    Options.withPseudoName("N"),
    Options.withDescription(
      `Send the request N times from one process, reusing the service and its connections (1 to ${Settings.MAX_REPEAT}); ` +
        "each is a new request with its own reference."
    ),
    Options.optional
  ),
  interval: Options.text("interval").pipe(
    Options.withPseudoName("DURATION"),
    Options.withDescription("Pause between repeated requests, e.g. 500ms, 5s, 1m or \"5 seconds\" (default 0)."),
    Options.optional
  ),
  logLevel: Settings.single("log-level")
}

/**
 * `stpp request`.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make(
  "request",
  options,
  (o) => Effect.flatMap(Effect.promise(() => import("./internal/request.js")), (impl) => impl.handle(o))
).pipe(
  Command.withDescription(
    "Send one gateway request through the ConnectionService and print one JSON line per request: " +
      "{outcome, address, attempts, elapsedMs, error, response}. Credentials come from STPP_USERNAME and " +
      "STPP_PASSWORD only. Exit 0 every request ok (the gateway answered; check its errorcode), 2 bad usage or " +
      "configuration (nothing sent), 3 not sent (safe to retry later), 4 outcome unknown (do not resend: look it up), " +
      "5 refused for security (TLS verification). With --repeat the worst outcome decides."
  )
)
