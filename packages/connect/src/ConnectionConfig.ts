/**
 * Every setting of the connection, in one place: its default (from the vendor's guide where it has
 * one), its environment name, and its validation. Read through Effect `Config`, so a bad value is a
 * `ConfigError` at start that names the setting, says what is wrong and what is allowed.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs"
import * as FsPromises from "node:fs/promises"
import * as parse from "./internal/config/parse.js"
import type { Setting } from "./internal/config/parse.js"
import * as table from "./internal/config/settings.js"
import * as Redact from "./Redact.js"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * A DNS server to ask directly (D3, D4).
 *
 * @since 0.1.0
 * @category models
 */
export interface Nameserver {
  readonly address: string
  readonly port: number
}

/**
 * Where trusted roots come from (S2, S3): `node` is Node's bundled Mozilla store, `system` is the
 * operating system's bundle; both are extended by `caFiles`. `only` trusts the `caFiles` alone.
 *
 * @since 0.1.0
 * @category models
 */
export type TrustStore = "node" | "system" | "only"

/**
 * @since 0.1.0
 * @category models
 */
export type LogFormat = "json" | "logfmt" | "pretty"

/**
 * @since 0.1.0
 * @category models
 */
export type LogLevelName = "all" | "trace" | "debug" | "info" | "warning" | "error" | "fatal" | "none"

/**
 * How a PAN that is found in output is masked (L1): PCI DSS allows at most the first 6 and last 4.
 *
 * @since 0.1.0
 * @category models
 */
export type PanMask = "first6last4" | "last4"

/**
 * The validated settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectionSettings {
  /** The gateway's JSON endpoint (https only). */
  readonly url: URL
  /** Retries after the first connect attempt (R1): up to `maxRetries + 1` attempts. */
  readonly maxRetries: number
  /** The whole connect phase, measured from the start of the first attempt (R1, R2). */
  readonly retryTimeout: Duration.Duration
  /** One connect attempt: TCP connect and the whole TLS handshake (R1). */
  readonly connectTimeout: Duration.Duration
  /** Once connected: sending the request and receiving the whole response (R1). */
  readonly ioTimeout: Duration.Duration
  /** First pause between connect attempts; it doubles up to `retryMaxDelay`, with jitter. */
  readonly retryBaseDelay: Duration.Duration
  /** Longest pause between connect attempts. */
  readonly retryMaxDelay: Duration.Duration
  /** Tokens of the connect retry budget shared by all requests of one service (U1); 0: none. */
  readonly retryBudget: number
  /** Tokens a retry takes after a refused, reset or failed connect (U1). */
  readonly retryBudgetCost: number
  /** Tokens a retry takes after a connect or handshake time-out (U1). */
  readonly retryBudgetTimeoutCost: number
  /** Tokens a successful connect gives back (U1). */
  readonly retryBudgetRefund: number
  /** Connects tried at once while the budget is spent (U1). */
  readonly retryBudgetProbes: number
  /** One DNS query to one server (D3). */
  readonly dnsTimeout: Duration.Duration
  /** Cap on any DNS TTL (D1): never extends a TTL, only shortens it. */
  readonly dnsMaxTtl: Duration.Duration
  /** How long a DNS server that failed is asked last (D3). */
  readonly dnsHealthWindow: Duration.Duration
  /** Floor of the learned hedge delay: the next DNS server is asked too after this long at the least (U3). */
  readonly dnsHedgeMinDelay: Duration.Duration
  /** Cap of the learned hedge delay, and the delay before any answer was seen (U3). */
  readonly dnsHedgeMaxDelay: Duration.Duration
  /** Fixed DNS servers; also where the NS discovery starts (D4). Empty: the system's servers. */
  readonly nameservers: ReadonlyArray<Nameserver>
  /** The zone whose NS records name the gateway's DNS servers (D4). Default: the host less its first label. */
  readonly dnsZone: string
  /** Discover and refresh the DNS servers from the zone's NS records (D4). */
  readonly dnsDiscovery: boolean
  /** Where trusted roots come from (S2). */
  readonly trustStore: TrustStore
  /** Extra PEM files of trusted roots (S2, S3). */
  readonly caFiles: ReadonlyArray<string>
  /** TLS sessions kept for resumption (P3), one per host name, address and port; 0: none. */
  readonly tlsSessionCache: number
  /** Connections open at once to the gateway (the pool's bound). */
  readonly maxSockets: number
  /** An idle kept-alive connection is closed after this long, before the server would (nginx: 75 s). */
  readonly keepAliveIdle: Duration.Duration
  /** A kept-alive connection is retired after this many requests (nginx closes after 1,000). */
  readonly keepAliveMaxRequests: number
  /** The largest response body read, in bytes: a larger one is cut off, and the request's outcome is unknown. */
  readonly maxResponseBytes: number
  /** Minimum log level (L3). */
  readonly logLevel: LogLevelName
  /** Log line format. */
  readonly logFormat: LogFormat
  /** Needed, with `logLevel` debug or lower, when the url is a live gateway host (L3). */
  readonly allowLiveDebug: boolean
  /** How PANs found in output are masked (L1). */
  readonly panMask: PanMask
}

// -----------------------------------------------------------------------------
// parsing
// -----------------------------------------------------------------------------

/**
 * Parses `500ms`, `5s`, `1.5s`, `1m`, `2h` and Effect's own forms (`"5 seconds"`, `"500 millis"`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseDuration: (input: string) => Option.Option<Duration.Duration> = parse.parseDuration

/**
 * A duration written as text: `500ms`, `5s`, `1m` or Effect's `"5 seconds"`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DurationFromText: Schema.Schema<Duration.Duration, string> = parse.DurationFromText

/**
 * Parses one DNS server: `IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6 address. Port 53 by default.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseNameserver: (input: string) => Option.Option<Nameserver> = parse.parseNameserver

/**
 * The Secure Trading / Trust Payments production host names. Nothing may turn off certificate
 * verification against them, and debug logging against them needs `STPP_ALLOW_LIVE_DEBUG` (L3).
 *
 * @since 0.1.0
 * @category models
 */
export const isLiveGatewayHost: (host: string) => boolean = parse.isLiveGatewayHost

/**
 * The EU gateway's JSON endpoint, the default `url`.
 *
 * @since 0.1.0
 * @category models
 */
export const EU_URL: "https://webservices.securetrading.net/json/" = parse.EU_URL

/**
 * The US gateway's JSON endpoint.
 *
 * @since 0.1.0
 * @category models
 */
export const US_URL: "https://webservices.securetrading.us/json/" = parse.US_URL

/**
 * A bad value as it may be shown in a message: quoted when it has the shape of a number with a unit
 * or of an IP address; otherwise only its length, since it may be a password or card number put in
 * the wrong place (C3: name the setting and what is allowed, never echo a secret).
 *
 * @since 0.1.0
 * @category errors
 */
export const shownValue: (s: string) => string = parse.shownValue

/**
 * Whether `host` is a DNS name that can be resolved and checked against a certificate: labels of
 * letters, digits and `-` (not leading or trailing), each 1 to 63 long, 253 in all.
 *
 * @since 0.1.0
 * @category parsing
 */
export const isHostName: (host: string) => boolean = parse.isHostName

/**
 * Every setting: its environment name, default, what is allowed and what it means. The README's
 * configuration table is this table.
 *
 * @since 0.1.0
 * @category settings
 */
export const settings: typeof table.settings = table.settings

/**
 * What can be given in code: every field optional, durations as `Duration.DurationInput`.
 *
 * @since 0.1.0
 * @category models
 */
export type ConnectionSettingsInput = {
  readonly [K in keyof ConnectionSettings]?:
    | (ConnectionSettings[K] extends Duration.Duration ? Duration.DurationInput | string
      : ConnectionSettings[K] extends URL ? URL | string
      : ConnectionSettings[K] extends ReadonlyArray<Nameserver> ? ReadonlyArray<Nameserver | string> | string
      : ConnectionSettings[K] extends ReadonlyArray<string> ? ReadonlyArray<string> | string
      : ConnectionSettings[K] extends number ? number | string
      : ConnectionSettings[K] extends boolean ? boolean | string
      : ConnectionSettings[K] | string)
    | undefined
}

const toText = (value: unknown): string => {
  if (typeof value === "string") return value
  if (value instanceof URL) return value.href
  if (Duration.isDuration(value)) return `${Duration.toMillis(value)}ms`
  if (typeof value === "number") return String(value)
  if (typeof value === "boolean") return String(value)
  if (Array.isArray(value)) {
    return value.map((v) => typeof v === "object" && v !== null ? `[${v.address}]:${v.port}` : String(v)).join(",")
  }
  if (typeof value === "bigint") return `${value}ms`
  return String(value)
}

const inputToText = (key: keyof ConnectionSettings, value: unknown): string => {
  // Durations given as numbers are milliseconds, as in Effect.
  if (typeof value === "number" && durationKeys.has(key)) return `${value}ms`
  if (Array.isArray(value) && typeof value[0] === "number" && durationKeys.has(key)) {
    return `${Duration.toMillis(Duration.decode(value as unknown as Duration.DurationInput))}ms`
  }
  return toText(value)
}

const durationKeys: ReadonlySet<string> = new Set([
  "retryTimeout",
  "connectTimeout",
  "ioTimeout",
  "retryBaseDelay",
  "retryMaxDelay",
  "dnsTimeout",
  "dnsMaxTtl",
  "dnsHealthWindow",
  "dnsHedgeMinDelay",
  "dnsHedgeMaxDelay",
  "keepAliveIdle"
])

// -----------------------------------------------------------------------------
// validation across settings
// -----------------------------------------------------------------------------

// A lower bound `env` set longer than its upper bound `maxEnv`.
const longerThan = (env: string, value: Duration.Duration, maxEnv: string, max: Duration.Duration) =>
  Either.left(ConfigError.InvalidData(
    [env],
    `${env}: ${Duration.format(value)} is longer than ${maxEnv} (${Duration.format(max)}); allowed: at most ${maxEnv}`
  ))

const crossCheck = (s: ConnectionSettings): Either.Either<ConnectionSettings, ConfigError.ConfigError> => {
  if (Duration.greaterThan(s.retryBaseDelay, s.retryMaxDelay)) {
    return longerThan("STPP_RETRY_BASE_DELAY", s.retryBaseDelay, "STPP_RETRY_MAX_DELAY", s.retryMaxDelay)
  }
  if (s.retryBudget > 0 && Math.max(s.retryBudgetCost, s.retryBudgetTimeoutCost) > s.retryBudget) {
    const env = s.retryBudgetCost > s.retryBudget ? "STPP_RETRY_BUDGET_COST" : "STPP_RETRY_BUDGET_TIMEOUT_COST"
    return Either.left(ConfigError.InvalidData(
      [env],
      `${env}: ${
        env === "STPP_RETRY_BUDGET_COST" ? s.retryBudgetCost : s.retryBudgetTimeoutCost
      } is more than STPP_RETRY_BUDGET (${s.retryBudget}), so no retry could ever be paid; allowed: at most STPP_RETRY_BUDGET, or STPP_RETRY_BUDGET=0 for no shared budget`
    ))
  }
  if (Duration.greaterThan(s.dnsHedgeMinDelay, s.dnsHedgeMaxDelay)) {
    return longerThan("STPP_DNS_HEDGE_MIN_DELAY", s.dnsHedgeMinDelay, "STPP_DNS_HEDGE_MAX_DELAY", s.dnsHedgeMaxDelay)
  }
  if (s.trustStore === "only" && s.caFiles.length === 0) {
    return Either.left(ConfigError.InvalidData(
      ["STPP_TRUST_STORE"],
      "STPP_TRUST_STORE: \"only\" trusts only STPP_CA_FILE, which is empty; allowed: node, system, or only with STPP_CA_FILE set"
    ))
  }
  return Either.right(s)
}

const defaultZone = (host: string): string => {
  const labels = host.replace(/\.$/, "").split(".")
  return labels.length > 2 ? labels.slice(1).join(".") : labels.join(".")
}

const finish = (s: ConnectionSettings): Either.Either<ConnectionSettings, ConfigError.ConfigError> =>
  crossCheck(s.dnsZone === "" ? { ...s, dnsZone: defaultZone(s.url.hostname) } : s)

const invalid = (env: string, problem: string, allowed: string) =>
  ConfigError.InvalidData([env], Redact.string(`${env}: ${problem}; allowed: ${allowed}`))

/**
 * A setting's rule as a `Schema` from its text form, so that the same validation serves `Config`,
 * values given in code and the CLI's options.
 *
 * @since 0.1.0
 * @category schemas
 */
export const settingSchema = <K extends keyof ConnectionSettings>(
  key: K
): Schema.Schema<ConnectionSettings[K], string> => {
  const s = settings.find((x) => x.key === key) as unknown as Setting<K>
  return Schema.transformOrFail(Schema.String, Schema.Unknown as Schema.Schema<ConnectionSettings[K]>, {
    strict: true,
    decode: (text, _, ast) =>
      Either.match(s.parse(text), {
        onLeft: (problem) => ParseResult.fail(new ParseResult.Type(ast, text, problem)),
        onRight: (value) => ParseResult.succeed(value)
      }),
    encode: (value) => ParseResult.succeed(toText(value))
  }).annotations({ identifier: s.env, description: s.description })
}

// The rule `settingSchema` wraps, applied directly: every setting is parsed at start (the defaults
// when this module loads, then the environment), and a Schema built and compiled per setting and
// call was most of that time (P2, the command's start-up). The message is the same: the problem.
const parseOne = <K extends keyof ConnectionSettings>(
  key: K,
  text: string
): Either.Either<ConnectionSettings[K], ConfigError.ConfigError> => {
  const s = settings.find((x) => x.key === key) as unknown as Setting<K>
  return Either.mapLeft(s.parse(text), (problem) => invalid(s.env, problem, s.allowed))
}

const parseAll = (
  texts: (s: (typeof settings)[number]) => string
): Either.Either<ConnectionSettings, ConfigError.ConfigError> => {
  const out: Record<string, unknown> = {}
  for (const s of settings) {
    const r = parseOne(s.key, texts(s))
    if (Either.isLeft(r)) return Either.left(r.left)
    out[s.key] = r.right
  }
  return finish(out as unknown as ConnectionSettings)
}

/**
 * The defaults, validated.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: ConnectionSettings = Either.getOrThrow(parseAll((s) => s.default))

/**
 * Builds settings from values given in code; what is not given takes its default.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (input: ConnectionSettingsInput = {}): Effect.Effect<ConnectionSettings, ConfigError.ConfigError> =>
  parseAll((s) => {
    const value = (input as Record<string, unknown>)[s.key]
    return value === undefined ? s.default : inputToText(s.key, value)
  })

/**
 * Reads every setting through Effect `Config` (environment variables by default), defaults for
 * what is unset, each validated.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<ConnectionSettings> = Config.all(
  settings.map((s) =>
    Config.string(s.env).pipe(
      Config.withDefault(s.default),
      Config.mapOrFail((text) => parseOne(s.key, text))
    )
  )
).pipe(
  Config.mapOrFail((values) => {
    const out: Record<string, unknown> = {}
    settings.forEach((s, i) => {
      out[s.key] = values[i]
    })
    return finish(out as unknown as ConnectionSettings)
  })
)

/**
 * Where the settings come from in the application's context.
 *
 * @since 0.1.0
 * @category tags
 */
export class ConnectionConfig extends Context.Tag("@stpp/connect/ConnectionConfig")<
  ConnectionConfig,
  ConnectionSettings
>() {}

/**
 * Settings given in code (validated; the rest take their defaults).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (input: ConnectionSettingsInput = {}): Layer.Layer<ConnectionConfig, ConfigError.ConfigError> =>
  Layer.effect(ConnectionConfig, make(input))

/**
 * Settings read through `Config` (environment variables `STPP_*` by default).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<ConnectionConfig, ConfigError.ConfigError> = Layer.effect(
  ConnectionConfig,
  config
)

/**
 * The gateway's host name and port from the url.
 *
 * @since 0.1.0
 * @category accessors
 */
export const endpoint = (s: ConnectionSettings): { readonly host: string; readonly port: number } => ({
  host: s.url.hostname.replace(/^\[|\]$/g, ""),
  port: s.url.port === "" ? 443 : Number(s.url.port)
})

/**
 * A `ConfigError` as one line for an operator (Effect's rendering nests it in parentheses).
 *
 * @since 0.1.0
 * @category errors
 */
export const formatConfigError = (error: ConfigError.ConfigError): string => {
  switch (error._op) {
    case "InvalidData":
      return error.message
    case "MissingData": {
      const name = error.path.join(".")
      return `${name} is not set; it is read from the environment variable ${name} (or the ConfigProvider the app installs)`
    }
    case "And":
      return `${formatConfigError(error.left)}; ${formatConfigError(error.right)}`
    case "Or":
      return formatConfigError(error.left)
    default:
      return String(error)
  }
}

// -----------------------------------------------------------------------------
// files named by settings: bounded reads of regular files only
// -----------------------------------------------------------------------------

/**
 * The largest CA file read (`STPP_CA_FILE`, `--ca`): a bundle of a few hundred roots is about 250 KiB.
 *
 * @since 0.1.0
 * @category models
 */
export const MAX_CA_FILE_BYTES = 4 * 1024 * 1024

/**
 * Why a file named by a setting could not be used: it does not exist, is not a regular file (a
 * device such as `/dev/zero`, a FIFO, a directory), is larger than the limit, or cannot be read.
 *
 * @since 0.1.0
 * @category errors
 */
export class FileReadError extends Data.TaggedError("FileReadError")<{
  readonly path: string
  readonly reason: "not-found" | "not-a-file" | "too-large" | "unreadable"
  readonly maxBytes: number
}> {
  get message(): string {
    switch (this.reason) {
      case "not-found":
        return "no such file"
      case "not-a-file":
        return "not a regular file (a device, FIFO or directory cannot be read)"
      case "too-large":
        return `larger than the limit of ${this.maxBytes} bytes`
      case "unreadable":
        return "permission denied or not readable"
    }
  }
}

/**
 * Reads a regular file of at most `maxBytes` as UTF-8. The file is opened without blocking (a FIFO
 * does not hang), checked to be a regular file within the limit before a byte is read, and never
 * read past the limit, so `/dev/zero`, `/dev/urandom`, a FIFO or a huge file fail at once.
 *
 * @since 0.1.0
 * @category files
 */
export const readFileBounded = (path: string, maxBytes: number): Effect.Effect<string, FileReadError> => {
  const fail = (reason: FileReadError["reason"]) => new FileReadError({ path, reason, maxBytes })
  const reasonOf = (e: unknown): FileReadError["reason"] => {
    const code = typeof e === "object" && e !== null && "code" in e ? e.code : undefined
    return code === "ENOENT" || code === "ENOTDIR" ? "not-found" : code === "EISDIR" ? "not-a-file" : "unreadable"
  }
  return Effect.acquireUseRelease(
    Effect.tryPromise({
      try: () => FsPromises.open(path, Fs.constants.O_RDONLY | Fs.constants.O_NONBLOCK),
      catch: (e) => fail(reasonOf(e))
    }),
    (handle) =>
      Effect.gen(function*() {
        const stat = yield* Effect.tryPromise({ try: () => handle.stat(), catch: (e) => fail(reasonOf(e)) })
        if (!stat.isFile()) return yield* Effect.fail(fail("not-a-file"))
        if (stat.size > maxBytes) return yield* Effect.fail(fail("too-large"))
        const buffer = Buffer.alloc(Math.min(maxBytes, stat.size) + 1)
        let length = 0
        // A file that grows while it is read still stops one byte past the limit.
        for (;;) {
          const { bytesRead } = yield* Effect.tryPromise({
            try: () => handle.read(buffer, length, buffer.length - length, length),
            catch: (e) => fail(reasonOf(e))
          })
          if (bytesRead === 0) break
          length += bytesRead
          if (length > maxBytes) return yield* Effect.fail(fail("too-large"))
          if (length === buffer.length) break
        }
        return buffer.toString("utf8", 0, length)
      }),
    (handle) => Effect.promise(() => handle.close().catch(() => undefined))
  )
}
