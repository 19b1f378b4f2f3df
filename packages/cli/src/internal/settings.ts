/**
 * Command-line options that override `STPP_*` settings: the options become a `ConfigProvider`
 * layered over the environment, so `ConnectionConfig` validates them with the same rules, and a
 * bad value's message is rewritten to name the option it came from.
 *
 * @internal
 */
import * as ConnectionConfig from "@stpp/connect/ConnectionConfig"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"

/** One option that sets one `STPP_*` variable. */
export interface SettingOption {
  /** The option's name, without dashes. */
  readonly name: string
  /** The variable it overrides. */
  readonly env: string
  /** Repeatable: the values are joined with commas, as the variable lists them. */
  readonly repeatable: boolean
  /** What is allowed, when the option's wording differs from the variable's. */
  readonly allowed?: string | undefined
  /** What the value is, in the usage line. */
  readonly pseudo: string
}

/** @internal */
export const SETTING_OPTIONS: ReadonlyArray<SettingOption> = [
  { name: "url", env: "STPP_URL", repeatable: false, pseudo: "URL" },
  {
    name: "nameserver",
    env: "STPP_NAMESERVERS",
    repeatable: true,
    pseudo: "IP[:PORT]",
    allowed: "IP or IP:PORT ([IPv6]:PORT), e.g. 127.0.0.1:5353; repeat the option for more servers"
  },
  {
    name: "ca",
    env: "STPP_CA_FILE",
    repeatable: true,
    pseudo: "FILE",
    allowed: "a path of a PEM file; repeat the option for more"
  },
  { name: "max-retries", env: "STPP_MAX_RETRIES", repeatable: false, pseudo: "N" },
  { name: "retry-timeout", env: "STPP_RETRY_TIMEOUT", repeatable: false, pseudo: "DURATION" },
  { name: "connect-timeout", env: "STPP_CONNECT_TIMEOUT", repeatable: false, pseudo: "DURATION" },
  { name: "io-timeout", env: "STPP_IO_TIMEOUT", repeatable: false, pseudo: "DURATION" },
  { name: "dns-timeout", env: "STPP_DNS_TIMEOUT", repeatable: false, pseudo: "DURATION" },
  { name: "log-level", env: "STPP_LOG_LEVEL", repeatable: false, pseudo: "LEVEL" }
]

/** @internal */
export const settingOf = (env: string) => ConnectionConfig.settings.find((s) => s.env === env)

/** The values given on the command line, by variable. */
export interface Given {
  /** Variable name to value, as the environment would hold it. */
  readonly values: ReadonlyMap<string, string>
  /** Variable name to the option ("--connect-timeout") that set it. */
  readonly options: ReadonlyMap<string, string>
}

/** @internal */
export const emptyGiven: Given = { values: new Map(), options: new Map() }

/**
 * Collects option values: `Option` for single options, arrays for repeatable ones (empty: not
 * given). Names not in `SETTING_OPTIONS` name a variable directly (e.g. the doctor's `--host`
 * sets `STPP_URL`).
 */
export const given = (
  entries: ReadonlyArray<
    readonly [name: string, value: Option.Option<string> | ReadonlyArray<string>, env?: string | undefined]
  >
): Given => {
  const values = new Map<string, string>()
  const options = new Map<string, string>()
  for (const [name, value, envOverride] of entries) {
    const env = envOverride ?? SETTING_OPTIONS.find((o) => o.name === name)?.env
    if (env === undefined) continue
    const text = Option.isOption(value)
      ? Option.getOrUndefined(value)
      : (value as ReadonlyArray<string>).length > 0
      ? (value as ReadonlyArray<string>).join(",")
      : undefined
    if (text === undefined) continue
    values.set(env, text)
    options.set(env, `--${name}`)
  }
  return { values, options }
}

/** The options over the environment. */
export const provider = (g: Given): ConfigProvider.ConfigProvider =>
  ConfigProvider.fromMap(new Map(g.values)).pipe(ConfigProvider.orElse(() => ConfigProvider.fromEnv()))

/**
 * A configuration error as one line that names where the bad value came from: the option when it
 * was given on the command line, the variable otherwise.
 */
export const describeConfigError = (error: ConfigError.ConfigError, g: Given): string =>
  nameSource(ConnectionConfig.formatConfigError(error), g)

/**
 * A one-line message that starts with the variable at fault (`STPP_X: ...`), rewritten to start
 * with the option when the value came from the command line.
 */
export const nameSource = (line: string, g: Given): string => {
  const m = /^(STPP_[A-Z0-9_]+): (.*)$/s.exec(line)
  if (m === null) return line
  const option = g.options.get(m[1])
  if (option === undefined) return line
  const o = SETTING_OPTIONS.find((x) => `--${x.name}` === option)
  let rest = m[2]
  if (o?.allowed !== undefined) rest = rest.replace(/; allowed: .*$/s, `; allowed: ${o.allowed}`)
  return `${option}: ${rest}`
}

/** Reads and validates every connection setting from the options over the environment. */
export const readSettings = (g: Given): Effect.Effect<ConnectionConfig.ConnectionSettings, string> =>
  Effect.suspend(() => {
    // A blank option is a mistake, not "unset": `Config` trims it to nothing, which means the default.
    for (const [env, text] of g.values) {
      if (text.split(",").every((part) => part.trim() === "")) {
        const option = g.options.get(env) ?? env
        const o = SETTING_OPTIONS.find((x) => `--${x.name}` === option)
        const allowed = o?.allowed ?? settingOf(env)?.allowed ?? "a value"
        return Effect.fail(`${option}: the value is blank; allowed: ${allowed}`)
      }
    }
    return ConnectionConfig.config.pipe(
      Effect.withConfigProvider(provider(g)),
      Effect.mapError((e) => describeConfigError(e, g))
    )
  })

/** Reads an optional variable from the environment through `Config` (so tests can swap the provider). */
export const envOption = (name: string): Effect.Effect<Option.Option<string>> =>
  Config.option(Config.string(name)).pipe(
    Effect.orElseSucceed(() => Option.none<string>())
  )

/** The value of a whole number option, or a message naming it. */
export const wholeNumber = (
  option: string,
  text: string,
  min: number,
  max: number
): Either.Either<number, string> => {
  const t = text.trim()
  if (!/^\d+$/.test(t)) {
    return Either.left(
      `${option}: ${ConnectionConfig.shownValue(t)} is not a whole number; allowed: ${min} to ${max}`
    )
  }
  const n = Number(t)
  return n < min || n > max
    ? Either.left(`${option}: ${n} is out of range; allowed: ${min} to ${max}`)
    : Either.right(n)
}

/** The most `--repeat` allows. */
export const MAX_REPEAT = 100_000
