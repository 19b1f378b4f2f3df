/**
 * What every command handler shares: where it puts its exit code, and the `--log-level` value from
 * the command line (`@effect/cli` consumes a valid `--log-level` as its own built-in option before a
 * command sees it, so the raw argument list is read for it first).
 *
 * @internal
 */
import * as Redact from "@stpp/connect/Redact"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { envOption } from "./settings.js"

/** @internal */
export class CliContext extends Context.Tag("@stpp/cli/CliContext")<CliContext, {
  readonly exitCode: Ref.Ref<number>
  readonly logLevel: Option.Option<string>
}>() {}

/** Sets the process's exit code. */
export const exit = (code: number): Effect.Effect<void, never, CliContext> =>
  Effect.flatMap(CliContext, (c) => Ref.set(c.exitCode, code))

/** Exit 2: bad usage or configuration, a one-line message on standard error. Nothing was sent. */
export const usageError = (message: string): Effect.Effect<void, never, CliContext> =>
  Console.error(`stpp: ${message}`).pipe(Effect.zipRight(exit(2)))

/** The `--log-level` value: the command's own option, else what the raw arguments held. */
export const logLevelOf = (own: Option.Option<string>): Effect.Effect<Option.Option<string>, never, CliContext> =>
  Option.isSome(own) ? Effect.succeed(own) : Effect.map(CliContext, (c) => c.logLevel)

/** Finds the last `--log-level X` or `--log-level=X` in the arguments. */
export const scanLogLevel = (args: ReadonlyArray<string>): Option.Option<string> => {
  let found: string | undefined
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === "--") break
    if (a === "--log-level" && i + 1 < args.length) found = args[i + 1]
    else if (a.startsWith("--log-level=")) found = a.slice("--log-level=".length)
  }
  return Option.fromNullable(found)
}

// Each known secret (the configured password, its Basic-auth token) is taken out wherever it
// appears, in any shape the scanner would not recognise (a certificate subject, a gateway's echo).
const redactArgs = (
  args: ReadonlyArray<unknown>,
  options: Redact.Options,
  secrets: ReadonlyArray<string>
): Array<unknown> => {
  const withSecrets = secrets.length === 0 ? options : { ...options, secrets }
  return args.map((a) => typeof a === "string" ? Redact.string(a, withSecrets) : Redact.value(a, withSecrets))
}

/**
 * A `Console` that redacts everything written through it (L1): the one point where the command's
 * standard output and standard error leave it, so every line is covered, `@effect/cli`'s own
 * messages ("Received unknown argument ...") included.
 */
export const redactingConsole = (
  inner: Console.Console,
  options: Redact.Options,
  secrets: ReadonlyArray<string> = []
): Console.Console => {
  const r = (args: ReadonlyArray<unknown>) => redactArgs(args, options, secrets)
  const unsafe: Console.UnsafeConsole = {
    ...inner.unsafe,
    assert: (condition, ...args) => inner.unsafe.assert(condition, ...r(args)),
    debug: (...args) => inner.unsafe.debug(...r(args)),
    dir: (item, o) => inner.unsafe.dir(Redact.value(item, options), o),
    dirxml: (...args) => inner.unsafe.dirxml(...r(args)),
    error: (...args) => inner.unsafe.error(...r(args)),
    group: (...args) => inner.unsafe.group(...r(args)),
    groupCollapsed: (...args) => inner.unsafe.groupCollapsed(...r(args)),
    info: (...args) => inner.unsafe.info(...r(args)),
    log: (...args) => inner.unsafe.log(...r(args)),
    table: (data, properties) => inner.unsafe.table(Redact.value(data, options), properties),
    timeLog: (label, ...args) => inner.unsafe.timeLog(label, ...r(args)),
    trace: (...args) => inner.unsafe.trace(...r(args)),
    warn: (...args) => inner.unsafe.warn(...r(args))
  }
  return {
    ...inner,
    assert: (condition, ...args) => inner.assert(condition, ...r(args)),
    debug: (...args) => inner.debug(...r(args)),
    dir: (item, o) => inner.dir(Redact.value(item, options), o),
    dirxml: (...args) => inner.dirxml(...r(args)),
    error: (...args) => inner.error(...r(args)),
    group: (o) => inner.group(o?.label === undefined ? o : { ...o, label: Redact.string(o.label, options) }),
    info: (...args) => inner.info(...r(args)),
    log: (...args) => inner.log(...r(args)),
    table: (data, properties) => inner.table(Redact.value(data, options), properties),
    timeLog: (label, ...args) => inner.timeLog(label, ...r(args)),
    trace: (...args) => inner.trace(...r(args)),
    warn: (...args) => inner.warn(...r(args)),
    unsafe
  }
}

/**
 * Standard output for values (`stpp request`'s JSON lines): each value redacted once, with the
 * console's own options and secrets and the caller's, then written through the console underneath,
 * in place of the console's second pass over the text (P1: that pass costs more than the value's).
 *
 * @internal
 */
export class Output extends Context.Tag("@stpp/cli/Output")<Output, {
  /** A writer of one JSON line per value; `secrets` (e.g. the card values sent) taken out too. */
  readonly jsonLines: (secrets: ReadonlyArray<string>) => (value: unknown) => Effect.Effect<void>
}>() {}

const outputOf = (inner: Console.Console, options: Redact.Options, own: ReadonlyArray<string>): Output["Type"] => ({
  jsonLines: (secrets) => {
    // one list for every line: Redact works out the forms of each secret once per list
    const withSecrets: Redact.Options = { ...options, secrets: [...own, ...secrets] }
    return (value) => inner.log(JSON.stringify(Redact.value(value, withSecrets)))
  }
})

/**
 * Runs a command with everything it prints going through one redacting Console (L1): card numbers
 * masked as STPP_PAN_MASK says, and the configured password, its Basic-auth token and its URL
 * encoding removed literally too, whatever text holds them. {@link Output} writes values with the
 * same redaction.
 */
export const withRedactingConsole = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, Exclude<R, Output>> =>
  Effect.gen(function*() {
    const panMask = yield* envOption("STPP_PAN_MASK")
    const inner = yield* Effect.console
    const redact: Redact.Options = {
      panMask: Option.exists(panMask, (m) => m.trim().toLowerCase() === "last4") ? "last4" : "first6last4"
    }
    const password = Option.getOrElse(yield* envOption("STPP_PASSWORD"), () => "")
    const username = Option.getOrElse(yield* envOption("STPP_USERNAME"), () => "")
    const secrets = password.length < 4 ? [] : [
      password,
      Buffer.from(`${username}:${password}`).toString("base64"),
      encodeURIComponent(password)
    ]
    return yield* Effect.withConsole(
      Effect.provideService(effect, Output, outputOf(inner, redact, secrets)),
      redactingConsole(inner, redact, secrets)
    )
  })
