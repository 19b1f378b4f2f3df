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
import * as SettingOptions from "./internal/options.js"
import * as Settings from "./internal/settings.js"

/**
 * The outcomes, the JSON line and the exit codes, also importable from `RequestLine`.
 *
 * @since 0.1.0
 */
export * from "./RequestLine.js"

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
  url: SettingOptions.single("url"),
  nameserver: SettingOptions.repeated("nameserver"),
  ca: SettingOptions.repeated("ca"),
  maxRetries: SettingOptions.single("max-retries"),
  retryTimeout: SettingOptions.single("retry-timeout"),
  connectTimeout: SettingOptions.single("connect-timeout"),
  ioTimeout: SettingOptions.single("io-timeout"),
  dnsTimeout: SettingOptions.single("dns-timeout"),
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
  logLevel: SettingOptions.single("log-level")
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
