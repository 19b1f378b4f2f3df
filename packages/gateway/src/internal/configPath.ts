/**
 * The path a `Config` is read under (`Config.nested` prefixes), so that credentials read under
 * "MERCHANT_B" can name MERCHANT_B_STPP_USERNAME in an error's advice. `Config` has no accessor
 * for it; a failing read reports its full path, which the fallback's condition records.
 *
 * @internal
 */
import * as Config from "effect/Config"

/** @internal */
export const path: Config.Config<ReadonlyArray<string>> = Config.suspend(() => {
  // One variable per read (Config.suspend), set by the condition and read by the fallback.
  let found: ReadonlyArray<string> = []
  return Config.fail("the path of this read").pipe(
    Config.orElseIf({
      if: (error) => {
        found = error._op === "MissingData" ? error.path : []
        return true
      },
      orElse: () => Config.sync(() => found)
    })
  )
})

/** The environment name of `name` read under `prefix` (the environment provider joins with "_"). @internal */
export const envName = (prefix: ReadonlyArray<string>, name: string): string => [...prefix, name].join("_")
