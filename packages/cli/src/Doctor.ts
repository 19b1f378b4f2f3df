/**
 * `stpp doctor`: what the vendor's guide asks operators to look up by hand (D5, S3): the zone's DNS
 * servers (discovered from its NS records, with their addresses and health), what each answers for
 * the gateway's host and with which TTL, the TLS chain each address serves (subjects, issuers,
 * expiry, days left), the negotiated protocol, connect timings, the runtime's Node and OpenSSL
 * versions, and a verdict. Exit 0 healthy, 1 problems found, 2 bad usage.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as SettingOptions from "./internal/options.js"

/**
 * The report's models and text form, also importable from `DoctorReport`.
 *
 * @since 0.1.0
 */
export * from "./DoctorReport.js"

// -----------------------------------------------------------------------------
// the command
// -----------------------------------------------------------------------------

/**
 * `stpp doctor`.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make(
  "doctor",
  {
    host: Options.text("host").pipe(
      Options.withPseudoName("NAME"),
      Options.withDescription("The gateway host to check (default: the host of STPP_URL / --url)."),
      Options.optional
    ),
    port: Options.text("port").pipe(
      Options.withPseudoName("PORT"),
      Options.withDescription("The gateway port to check (default: the port of STPP_URL / --url, else 443)."),
      Options.optional
    ),
    url: SettingOptions.single("url"),
    nameserver: SettingOptions.repeated("nameserver"),
    ca: SettingOptions.repeated("ca"),
    connectTimeout: SettingOptions.single("connect-timeout"),
    dnsTimeout: SettingOptions.single("dns-timeout"),
    json: Options.boolean("json").pipe(Options.withDescription("Print the report as one JSON object.")),
    logLevel: SettingOptions.single("log-level")
  },
  (o) => Effect.flatMap(Effect.promise(() => import("./internal/doctor.js")), (impl) => impl.handle(o))
).pipe(
  Command.withDescription(
    "Check what the vendor's guide asks operators to look up by hand: the zone's DNS servers (from its NS " +
      "records) and their health, what each answers for the gateway host with its TTL, the TLS chain each " +
      "address serves (subjects, issuers, expiry, days left), the protocol, connect timings, and the Node and " +
      "OpenSSL versions. Exit 0 healthy, 1 problems found, 2 bad usage."
  )
)
