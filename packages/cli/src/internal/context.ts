/**
 * What every command handler shares: where it puts its exit code, and the `--log-level` value from
 * the command line (`@effect/cli` consumes a valid `--log-level` as its own built-in option before a
 * command sees it, so the raw argument list is read for it first).
 *
 * @internal
 */
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"

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
