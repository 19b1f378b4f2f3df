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
import * as Net from "node:net"
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
  /** One DNS query to one server (D3). */
  readonly dnsTimeout: Duration.Duration
  /** Cap on any DNS TTL (D1): never extends a TTL, only shortens it. */
  readonly dnsMaxTtl: Duration.Duration
  /** How long a DNS server that failed is asked last (D3). */
  readonly dnsHealthWindow: Duration.Duration
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

const SHORT_DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/

/**
 * Parses `500ms`, `5s`, `1.5s`, `1m`, `2h` and Effect's own forms (`"5 seconds"`, `"500 millis"`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseDuration = (input: string): Option.Option<Duration.Duration> => {
  const text = input.trim().toLowerCase()
  const short = SHORT_DURATION.exec(text)
  if (short !== null) {
    const n = Number(short[1])
    const unit = short[2]
    const millis = unit === "ms" ? n : unit === "s" ? n * 1000 : unit === "m" ? n * 60_000 : n * 3_600_000
    return Number.isFinite(millis) ? Option.some(Duration.millis(millis)) : Option.none()
  }
  if (/^\d+(?:\.\d+)?\s+[a-z]+$/.test(text)) {
    return Duration.decodeUnknown(text.replace(/\s+/, " "))
  }
  return Option.none()
}

/**
 * A duration written as text: `500ms`, `5s`, `1m` or Effect's `"5 seconds"`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DurationFromText: Schema.Schema<Duration.Duration, string> = Schema.transformOrFail(
  Schema.String,
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (s, _, ast) =>
      Option.match(parseDuration(s), {
        onNone: () =>
          ParseResult.fail(
            new ParseResult.Type(ast, s, `is not a duration, e.g. "5 seconds", "500 millis", "500ms", "5s" or "1m"`)
          ),
        onSome: ParseResult.succeed
      }),
    encode: (d) => ParseResult.succeed(`${Duration.toMillis(d)} millis`)
  }
)

const isIpv6 = (s: string): boolean => Net.isIPv6(s)

/**
 * Parses one DNS server: `IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6 address. Port 53 by default.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseNameserver = (input: string): Option.Option<Nameserver> => {
  const text = input.trim()
  let address = text
  let port = 53
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text)
  if (bracket !== null) {
    address = bracket[1]
    if (bracket[2] !== undefined) port = Number(bracket[2])
  } else if (!isIpv6(text)) {
    const colon = text.lastIndexOf(":")
    if (colon > 0) {
      address = text.slice(0, colon)
      const p = text.slice(colon + 1)
      if (!/^\d+$/.test(p)) return Option.none()
      port = Number(p)
    }
  }
  // A zoned IPv6 address (`fe80::1%lo`) names an interface, not a server the resolver can use.
  if (address.includes("%") || Net.isIP(address) === 0) return Option.none()
  if (!Number.isInteger(port) || port < 1 || port > 65535) return Option.none()
  return Option.some({ address, port })
}

/**
 * The Secure Trading / Trust Payments production host names. Nothing may turn off certificate
 * verification against them, and debug logging against them needs `STPP_ALLOW_LIVE_DEBUG` (L3).
 *
 * @since 0.1.0
 * @category models
 */
export const isLiveGatewayHost = (host: string): boolean => {
  const h = host.toLowerCase().replace(/\.$/, "")
  return /(^|\.)securetrading\.(net|us|com)$/.test(h) || /(^|\.)trustpayments\.(com|net|us)$/.test(h)
}

/**
 * The EU gateway's JSON endpoint, the default `url`.
 *
 * @since 0.1.0
 * @category models
 */
export const EU_URL = "https://webservices.securetrading.net/json/"

/**
 * The US gateway's JSON endpoint.
 *
 * @since 0.1.0
 * @category models
 */
export const US_URL = "https://webservices.securetrading.us/json/"

// -----------------------------------------------------------------------------
// the settings table: one place for every name, default and rule
// -----------------------------------------------------------------------------

interface Setting<K extends keyof ConnectionSettings> {
  readonly key: K
  readonly env: string
  /** The default, written as it would be in the environment ("" for none). */
  readonly default: string
  readonly allowed: string
  readonly description: string
  readonly parse: (text: string) => Either.Either<ConnectionSettings[K], string>
}

/** Shapes a setting's value takes that cannot be a secret: a number with a unit, an IP address. */
const SAFE_VALUE = /^\s*(?:-?\d{1,10}(?:\.\d{1,6})?\s*[A-Za-z]{0,12}|[0-9.:[\]]{1,45})\s*$/

/**
 * A bad value as it may be shown in a message: quoted when it has the shape of a number with a unit
 * or of an IP address; otherwise only its length, since it may be a password or card number put in
 * the wrong place (C3: name the setting and what is allowed, never echo a secret).
 *
 * @since 0.1.0
 * @category errors
 */
export const shownValue = (s: string): string =>
  SAFE_VALUE.test(s) && Redact.string(s) === s
    ? JSON.stringify(s.trim())
    : `the value given (${s.length} characters, not shown)`

const describe = shownValue

const intSetting = (min: number, max: number) => (text: string): Either.Either<number, string> => {
  const t = text.trim()
  if (!/^-?\d+$/.test(t)) return Either.left(`${describe(text)} is not a whole number`)
  const n = Number(t)
  if (n < min || n > max) return Either.left(`${n} is out of range`)
  return Either.right(n)
}

const durationSetting = (min: Duration.Duration, max: Duration.Duration) =>
(
  text: string
): Either.Either<Duration.Duration, string> =>
  Option.match(parseDuration(text), {
    onNone: () =>
      Either.left(`${describe(text)} is not a duration, e.g. "5 seconds", "500 millis", "500ms", "5s" or "1m"`),
    onSome: (d) =>
      Duration.lessThan(d, min) || Duration.greaterThan(d, max)
        ? Either.left(`${describe(text)} is out of range`)
        : Either.right(d)
  })

const literalSetting = <A extends string>(values: ReadonlyArray<A>) => (text: string): Either.Either<A, string> => {
  const t = text.trim().toLowerCase()
  return (values as ReadonlyArray<string>).includes(t)
    ? Either.right(t as A)
    : Either.left(`${describe(text)} is not one of the allowed values`)
}

const booleanSetting = (text: string): Either.Either<boolean, string> => {
  const t = text.trim().toLowerCase()
  if (["true", "1", "yes", "on"].includes(t)) return Either.right(true)
  if (["false", "0", "no", "off", ""].includes(t)) return Either.right(false)
  return Either.left(`${describe(text)} is not a boolean`)
}

const listOf = <A>(parse: (s: string) => Either.Either<A, string>) => (text: string) => {
  const items = text.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
  const out: Array<A> = []
  for (const item of items) {
    const r = parse(item)
    if (Either.isLeft(r)) return Either.left(r.left)
    out.push(r.right)
  }
  return Either.right(out as ReadonlyArray<A>)
}

const parseUrl = (text: string): Either.Either<URL, string> => {
  let url: URL
  try {
    url = new URL(text.trim())
  } catch {
    // Never echoed: a URL that does not parse may still hold `user:password@`.
    return Either.left(
      /@/.test(text)
        ? "the value is not a URL (not shown: it holds \"@\", so it may hold credentials)"
        : `${describe(text)} is not a URL (a port must be from 1 to 65535)`
    )
  }
  if (url.protocol !== "https:") {
    return Either.left(`"${url.protocol}" is not allowed: the gateway is reached over https only`)
  }
  if (url.username !== "" || url.password !== "") {
    // never echo the value: it holds credentials
    return Either.left("the URL must not hold credentials (use STPP_USERNAME and STPP_PASSWORD)")
  }
  if (url.search !== "" || url.hash !== "") return Either.left("the URL must not have a query or a fragment")
  if (url.port === "0") return Either.left("port 0 cannot be connected to (a port is 1 to 65535)")
  if (Net.isIP(url.hostname.replace(/^\[|\]$/g, "")) !== 0) {
    return Either.left(
      "an IP address cannot be the host, as the certificate is checked against a host name"
    )
  }
  if (!isHostName(url.hostname)) {
    return Either.left("the host is not a DNS name (labels of letters, digits and '-', each 1 to 63 long)")
  }
  return Either.right(url)
}

const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i

/**
 * Whether `host` is a DNS name that can be resolved and checked against a certificate: labels of
 * letters, digits and `-` (not leading or trailing), each 1 to 63 long, 253 in all.
 *
 * @since 0.1.0
 * @category parsing
 */
export const isHostName = (host: string): boolean => {
  const h = host.replace(/\.$/, "")
  return h.length > 0 && h.length <= 253 && h.split(".").every((label) => HOST_LABEL.test(label))
}

const parseNameservers = (text: string): Either.Either<ReadonlyArray<Nameserver>, string> => {
  const items = text.split(",").map((s) => s.trim())
  if (text !== "" && items.every((s) => s === "")) {
    return Either.left("holds no server, only blanks or commas (unset it for the system's DNS servers)")
  }
  const out: Array<Nameserver> = []
  for (const item of items) {
    if (item === "") continue
    if (item.includes("%")) {
      return Either.left(
        `${describe(item)} is a zoned IPv6 address (with a %zone), which cannot be used`
      )
    }
    const parsed = parseNameserver(item)
    if (Option.isNone(parsed)) return Either.left(`${describe(item)} is not an IP or IP:PORT (port 1 to 65535)`)
    out.push(parsed.value)
  }
  return Either.right(out)
}

const ms = Duration.millis
const LOG_LEVELS: ReadonlyArray<LogLevelName> = ["all", "trace", "debug", "info", "warning", "error", "fatal", "none"]

/**
 * Every setting: its environment name, default, what is allowed and what it means. The README's
 * configuration table is this table.
 *
 * @since 0.1.0
 * @category settings
 */
export const settings = [
  {
    key: "url",
    env: "STPP_URL",
    default: EU_URL,
    allowed: "an https URL without credentials, query or fragment",
    description: "The gateway's JSON endpoint (US: https://webservices.securetrading.us/json/)",
    parse: parseUrl
  } satisfies Setting<"url">,
  {
    key: "maxRetries",
    env: "STPP_MAX_RETRIES",
    default: "20",
    allowed: "a whole number from 0 to 1000",
    description: "Connect retries after the first attempt (R1)",
    parse: intSetting(0, 1000)
  } satisfies Setting<"maxRetries">,
  {
    key: "retryTimeout",
    env: "STPP_RETRY_TIMEOUT",
    default: "40s",
    allowed: "a duration from 0ms to 1h",
    description: "The whole connect phase, from the start of the first attempt (R1, R2)",
    parse: durationSetting(ms(0), Duration.hours(1))
  } satisfies Setting<"retryTimeout">,
  {
    key: "connectTimeout",
    env: "STPP_CONNECT_TIMEOUT",
    default: "5s",
    allowed: "a duration from 1ms to 10m",
    description: "One connect attempt: TCP connect and TLS handshake (R1)",
    parse: durationSetting(ms(1), Duration.minutes(10))
  } satisfies Setting<"connectTimeout">,
  {
    key: "ioTimeout",
    env: "STPP_IO_TIMEOUT",
    default: "60s",
    allowed: "a duration from 1ms to 1h",
    description: "Sending the request and receiving the whole response (R1)",
    parse: durationSetting(ms(1), Duration.hours(1))
  } satisfies Setting<"ioTimeout">,
  {
    key: "retryBaseDelay",
    env: "STPP_RETRY_BASE_DELAY",
    default: "250ms",
    allowed: "a duration from 0ms to 1m",
    description: "First pause between connect attempts; doubles each retry, with ±20% jitter",
    parse: durationSetting(ms(0), Duration.minutes(1))
  } satisfies Setting<"retryBaseDelay">,
  {
    key: "retryMaxDelay",
    env: "STPP_RETRY_MAX_DELAY",
    default: "2s",
    allowed: "a duration from 0ms to 1m",
    description: "Longest pause between connect attempts",
    parse: durationSetting(ms(0), Duration.minutes(1))
  } satisfies Setting<"retryMaxDelay">,
  {
    key: "dnsTimeout",
    env: "STPP_DNS_TIMEOUT",
    default: "1s",
    allowed: "a duration from 1ms to 30s",
    description: "One DNS query to one server; a dead server costs at most this (D3)",
    parse: durationSetting(ms(1), Duration.seconds(30))
  } satisfies Setting<"dnsTimeout">,
  {
    key: "dnsMaxTtl",
    env: "STPP_DNS_MAX_TTL",
    default: "60s",
    allowed: "a duration from 0ms to 1h",
    description: "Cap on any DNS TTL; a TTL is never extended (D1)",
    parse: durationSetting(ms(0), Duration.hours(1))
  } satisfies Setting<"dnsMaxTtl">,
  {
    key: "dnsHealthWindow",
    env: "STPP_DNS_HEALTH_WINDOW",
    default: "30s",
    allowed: "a duration from 0ms to 1h",
    description: "How long a DNS server that failed is asked last (D3)",
    parse: durationSetting(ms(0), Duration.hours(1))
  } satisfies Setting<"dnsHealthWindow">,
  {
    key: "nameservers",
    env: "STPP_NAMESERVERS",
    default: "",
    allowed: "comma-separated IP or IP:PORT ([IPv6]:PORT), e.g. 127.0.0.1:5353",
    description: "DNS servers to ask; also where NS discovery starts (D3, D4). Empty: the system's",
    parse: parseNameservers
  } satisfies Setting<"nameservers">,
  {
    key: "dnsZone",
    env: "STPP_DNS_ZONE",
    default: "",
    allowed: "a DNS name, e.g. securetrading.net",
    description: "Zone whose NS records name the gateway's DNS servers (D4). Empty: the host less its first label",
    parse: (text: string) => {
      const t = text.trim().toLowerCase().replace(/\.$/, "")
      return t === "" || /^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(t)
        ? Either.right(t)
        : Either.left(`${describe(text)} is not a DNS name`)
    }
  } satisfies Setting<"dnsZone">,
  {
    key: "dnsDiscovery",
    env: "STPP_DNS_DISCOVERY",
    default: "true",
    allowed: "true or false",
    description: "Discover and refresh the DNS servers from the zone's NS records, on their TTL (D4)",
    parse: booleanSetting
  } satisfies Setting<"dnsDiscovery">,
  {
    key: "trustStore",
    env: "STPP_TRUST_STORE",
    default: "node",
    allowed: "node, system or only",
    description: "Trusted roots: Node's bundle, the OS bundle (both plus STPP_CA_FILE), or only STPP_CA_FILE (S2)",
    parse: literalSetting<TrustStore>(["node", "system", "only"])
  } satisfies Setting<"trustStore">,
  {
    key: "caFiles",
    env: "STPP_CA_FILE",
    default: "",
    allowed: "comma-separated paths of PEM files",
    description: "Extra trusted root certificates (S2, S3)",
    parse: listOf((s) => Either.right(s))
  } satisfies Setting<"caFiles">,
  {
    key: "maxSockets",
    env: "STPP_MAX_SOCKETS",
    default: "64",
    allowed: "a whole number from 1 to 4096",
    description: "Connections open at once to the gateway",
    parse: intSetting(1, 4096)
  } satisfies Setting<"maxSockets">,
  {
    key: "keepAliveIdle",
    env: "STPP_KEEPALIVE_IDLE",
    default: "20s",
    allowed: "a duration from 0ms to 10m (0: no keep-alive)",
    description: "Idle kept-alive connections are closed after this, before the server would",
    parse: durationSetting(ms(0), Duration.minutes(10))
  } satisfies Setting<"keepAliveIdle">,
  {
    key: "keepAliveMaxRequests",
    env: "STPP_KEEPALIVE_MAX_REQUESTS",
    default: "1000",
    allowed: "a whole number from 1 to 1000000",
    description:
      "A kept-alive connection is retired after at most this many requests (each connection its own cap, from 4/5 of it): never more than nginx's own default, 1000",
    parse: intSetting(1, 1_000_000)
  } satisfies Setting<"keepAliveMaxRequests">,
  {
    key: "maxResponseBytes",
    env: "STPP_MAX_RESPONSE_BYTES",
    default: "10485760",
    allowed: "a whole number of bytes from 1024 to 1073741824",
    description: "A response body larger than this (10 MiB) is cut off: outcome unknown, memory bounded",
    parse: intSetting(1024, 1024 ** 3)
  } satisfies Setting<"maxResponseBytes">,
  {
    key: "logLevel",
    env: "STPP_LOG_LEVEL",
    default: "info",
    allowed: LOG_LEVELS.join(", "),
    description: "Minimum log level; debug against a live host also needs STPP_ALLOW_LIVE_DEBUG (L3)",
    parse: literalSetting<LogLevelName>(LOG_LEVELS)
  } satisfies Setting<"logLevel">,
  {
    key: "logFormat",
    env: "STPP_LOG_FORMAT",
    default: "json",
    allowed: "json, logfmt or pretty",
    description: "Log line format (to stderr)",
    parse: literalSetting<LogFormat>(["json", "logfmt", "pretty"])
  } satisfies Setting<"logFormat">,
  {
    key: "allowLiveDebug",
    env: "STPP_ALLOW_LIVE_DEBUG",
    default: "false",
    allowed: "true or false",
    description: "Allow debug logging against a live gateway host (still redacted) (L3)",
    parse: booleanSetting
  } satisfies Setting<"allowLiveDebug">,
  {
    key: "panMask",
    env: "STPP_PAN_MASK",
    default: "first6last4",
    allowed: "first6last4 or last4",
    description: "How card numbers found in output are masked (L1)",
    parse: literalSetting<PanMask>(["first6last4", "last4"])
  } satisfies Setting<"panMask">
] as const

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
  "keepAliveIdle"
])

// -----------------------------------------------------------------------------
// validation across settings
// -----------------------------------------------------------------------------

const crossCheck = (s: ConnectionSettings): Either.Either<ConnectionSettings, ConfigError.ConfigError> => {
  if (Duration.greaterThan(s.retryBaseDelay, s.retryMaxDelay)) {
    return Either.left(ConfigError.InvalidData(
      ["STPP_RETRY_BASE_DELAY"],
      `STPP_RETRY_BASE_DELAY: ${Duration.format(s.retryBaseDelay)} is longer than STPP_RETRY_MAX_DELAY (${
        Duration.format(s.retryMaxDelay)
      }); allowed: at most STPP_RETRY_MAX_DELAY`
    ))
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

const problemOf = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  return issues.length > 0 ? issues[0].message : error.message
}

const parseOne = <K extends keyof ConnectionSettings>(
  key: K,
  text: string
): Either.Either<ConnectionSettings[K], ConfigError.ConfigError> => {
  const s = settings.find((x) => x.key === key) as unknown as Setting<K>
  return Either.mapLeft(
    Schema.decodeEither(settingSchema(key))(text),
    (error) => invalid(s.env, problemOf(error), s.allowed)
  )
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
