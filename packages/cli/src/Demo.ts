/**
 * `stpp demo`: starts the gateway simulator in this process (a test CA, a DNS server with a 1 s
 * TTL, the TLS JSON gateway on loopback addresses) and walks through a payment end to end, printing
 * a timeline on standard output while the library's own redacted logs go to standard error:
 *
 * 1. an AUTH that succeeds;
 * 2. a DNS change followed within one TTL;
 * 3. a dead address left behind: the retry goes to the address DNS names next;
 * 4. a reset after the AUTH was sent: outcome unknown, then a lookup finds the payment instead of
 *    a second charge;
 * 5. errorcode 60010 (the final status is not known) to a processed AUTH: `authOrLookup` looks it
 *    up and finds the payment, still one charge;
 * 6. a refused certificate (an expired one): nothing is sent.
 *
 * Exit 0 when every step behaved as expected, 1 otherwise. No full card number is printed.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as SettingOptions from "./internal/options.js"

/**
 * `stpp demo`.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make(
  "demo",
  { logLevel: SettingOptions.single("log-level") },
  (o) => Effect.flatMap(Effect.promise(() => import("./internal/demo.js")), (impl) => impl.run(o))
).pipe(
  Command.withDescription(
    "Start the gateway simulator in this process and walk through a payment end to end: an AUTH that succeeds, " +
      "a DNS change followed, a dead address left behind, a reset after sending that ends in a lookup instead of " +
      "a second charge, a 60010 answer resolved by a lookup (still one charge), and a refused certificate. A timeline on standard output, redacted logs on standard " +
      "error (STPP_LOG_FORMAT, default logfmt). Exit 0 when every step behaved as expected, 1 otherwise."
  )
)
