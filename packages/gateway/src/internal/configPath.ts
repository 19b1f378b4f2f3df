/**
 * The name a `Config` variable is read under, as the `ConfigProvider` in use spells it, so that
 * credentials read under `Config.nested(_, "MERCHANT_B")` can name MERCHANT_B_STPP_USERNAME in an
 * error's advice. `Config` has no accessor for it, and the name is not the `Config.nested`
 * prefixes joined by "_": the provider may add its own prefix (`ConfigProvider.nested`), rename
 * every segment (`ConfigProvider.constantCase`, `mapInputPath`) and join them with its own
 * delimiter (`fromMap({ pathDelim })`, `fromEnv({ pathDelim })`).
 *
 * So the provider is asked: a probe variable nested under the name is read through it and must be
 * missing. The provider's `MissingData` error carries the path after all its patches (its
 * prefixes, its renaming) with the probe last; dropping the probe leaves the variable's own path.
 * The providers built on `fromFlat` (fromEnv, fromMap, fromJson) name the joined path in the
 * error's message, which gives their delimiter; for any other, or if the probe is somehow set,
 * the path is joined with "_", the environment's delimiter.
 *
 * @internal
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"

/** A segment no provider has: the probe read under the variable's name. @internal */
export const PROBE = "stpp-connect-variable-name-probe"

/** The first `MissingData` in an error (a provider that falls back reports `Or` of two). @internal */
export const missingData = (
  error: ConfigError.ConfigError
): { readonly path: ReadonlyArray<string>; readonly message: string } | undefined => {
  switch (error._op) {
    case "MissingData":
      return error.path.length > 0 ? { path: error.path, message: error.message } : undefined
    case "And":
    case "Or":
      return missingData(error.left) ?? missingData(error.right)
    default:
      return undefined
  }
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * The variable's name from the probe's `MissingData`: the path without the probe, joined with the
 * delimiter the provider's message shows between the name and the probe ("_" when it shows none).
 *
 * @internal
 */
export const nameFrom = (path: ReadonlyArray<string>, message: string): string | undefined => {
  if (path.length < 2) return undefined
  const probe = path[path.length - 1]
  const own = path.slice(0, -1)
  const between = new RegExp(`${escape(own[own.length - 1])}(.{1,8}?)${escape(probe)}`).exec(message)
  return own.join(between?.[1] ?? "_")
}

/**
 * The name, as the provider in use spells it, of the variable `name` read at this place of a
 * `Config` (under the same `Config.nested` prefixes); the `Config.nested` prefixes and `name`
 * joined with "_" when the provider does not say.
 *
 * @internal
 */
export const variableName = (name: string): Config.Config<string> =>
  Config.suspend(() => {
    // One variable per read (Config.suspend), set by the condition and read by the fallback.
    let found: string | undefined
    let prefixes: ReadonlyArray<string> = []
    const probe = Config.nested(Config.string(PROBE), name)
    // `Config.fail` is not read through the provider: its path is the `Config.nested` prefixes only.
    const unpatched = Config.fail("the path of this read")
    const record = (config: Config.Config<string>, onError: (error: ConfigError.ConfigError) => void) =>
      config.pipe(Config.orElseIf({
        if: (error) => {
          onError(error)
          return true
        },
        orElse: () => Config.succeed("")
      }))
    return Config.all([
      record(probe, (error) => {
        const data = missingData(error)
        found = data === undefined ? undefined : nameFrom(data.path, data.message)
      }),
      record(unpatched, (error) => {
        prefixes = error._op === "MissingData" ? error.path : []
      })
    ]).pipe(Config.map(() => found ?? [...prefixes, name].join("_")))
  })
