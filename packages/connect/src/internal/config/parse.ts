// Parsing and validation of setting values: durations, nameservers, URLs, host names and safe display of bad input.
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Net from "node:net"
import type { ConnectionSettings, Nameserver } from "../../ConnectionConfig.js"
import * as Redact from "../../Redact.js"

// -----------------------------------------------------------------------------
// parsing
// -----------------------------------------------------------------------------

const SHORT_DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/

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

export const isLiveGatewayHost = (host: string): boolean => {
  const h = host.toLowerCase().replace(/\.$/, "")
  return /(^|\.)securetrading\.(net|us|com)$/.test(h) || /(^|\.)trustpayments\.(com|net|us)$/.test(h)
}

export const EU_URL = "https://webservices.securetrading.net/json/"

export const US_URL = "https://webservices.securetrading.us/json/"

// -----------------------------------------------------------------------------
// the settings table: one place for every name, default and rule
// -----------------------------------------------------------------------------

export interface Setting<K extends keyof ConnectionSettings> {
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

export const shownValue = (s: string): string =>
  SAFE_VALUE.test(s) && Redact.string(s) === s
    ? JSON.stringify(s.trim())
    : `the value given (${s.length} characters, not shown)`

export const describe = shownValue

export const intSetting = (min: number, max: number) => (text: string): Either.Either<number, string> => {
  const t = text.trim()
  if (!/^-?\d+$/.test(t)) return Either.left(`${describe(text)} is not a whole number`)
  const n = Number(t)
  if (n < min || n > max) return Either.left(`${n} is out of range`)
  return Either.right(n)
}

export const durationSetting = (min: Duration.Duration, max: Duration.Duration) =>
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

export const literalSetting =
  <A extends string>(values: ReadonlyArray<A>) => (text: string): Either.Either<A, string> => {
    const t = text.trim().toLowerCase()
    return (values as ReadonlyArray<string>).includes(t)
      ? Either.right(t as A)
      : Either.left(`${describe(text)} is not one of the allowed values`)
  }

export const booleanSetting = (text: string): Either.Either<boolean, string> => {
  const t = text.trim().toLowerCase()
  if (["true", "1", "yes", "on"].includes(t)) return Either.right(true)
  if (["false", "0", "no", "off", ""].includes(t)) return Either.right(false)
  return Either.left(`${describe(text)} is not a boolean`)
}

export const listOf = <A>(parse: (s: string) => Either.Either<A, string>) => (text: string) => {
  const items = text.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
  const out: Array<A> = []
  for (const item of items) {
    const r = parse(item)
    if (Either.isLeft(r)) return Either.left(r.left)
    out.push(r.right)
  }
  return Either.right(out as ReadonlyArray<A>)
}

export const parseUrl = (text: string): Either.Either<URL, string> => {
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

export const isHostName = (host: string): boolean => {
  const h = host.replace(/\.$/, "")
  return h.length > 0 && h.length <= 253 && h.split(".").every((label) => HOST_LABEL.test(label))
}

export const parseNameservers = (text: string): Either.Either<ReadonlyArray<Nameserver>, string> => {
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
