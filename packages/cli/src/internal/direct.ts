/**
 * `stpp request` without `@effect/cli` for the plain command lines (P2): `request` followed by
 * `--name value` pairs of the command's own options, `--body` once, each single-valued option at
 * most once, no value empty or starting with "-". Such a line means one thing to `@effect/cli` too,
 * and runs the same handler with the same options, console and exit code, without loading
 * `@effect/cli` and building every command's options first. Any other line (help, `--log-level` and
 * the other built-in options, `--name=value`, a repeated single option, an unknown argument) is not
 * taken: the full command parses it, with its own messages.
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { CliContext, withRedactingConsole } from "./context.js"
import type { RawOptions } from "./request.js"

type Single =
  | "body"
  | "url"
  | "maxRetries"
  | "retryTimeout"
  | "connectTimeout"
  | "ioTimeout"
  | "dnsTimeout"
  | "repeat"
  | "interval"

const SINGLE: ReadonlyMap<string, Single> = new Map([
  ["--body", "body"],
  ["--url", "url"],
  ["--max-retries", "maxRetries"],
  ["--retry-timeout", "retryTimeout"],
  ["--connect-timeout", "connectTimeout"],
  ["--io-timeout", "ioTimeout"],
  ["--dns-timeout", "dnsTimeout"],
  ["--repeat", "repeat"],
  ["--interval", "interval"]
])

const LISTS: ReadonlyMap<string, "nameserver" | "ca"> = new Map([["--nameserver", "nameserver"], ["--ca", "ca"]])

/** The options of a plain `stpp request` line (the arguments after the script), or undefined. */
export const parse = (args: ReadonlyArray<string>): RawOptions | undefined => {
  if (args[0] !== "request" || args.length % 2 !== 1) return undefined
  const single = new Map<Single, string>()
  const lists = { nameserver: [] as Array<string>, ca: [] as Array<string> }
  for (let i = 1; i < args.length; i += 2) {
    const name = args[i]
    const value = args[i + 1]
    if (value === "" || value.startsWith("-")) return undefined
    const key = SINGLE.get(name)
    if (key !== undefined) {
      if (single.has(key)) return undefined
      single.set(key, value)
      continue
    }
    const list = LISTS.get(name)
    if (list === undefined) return undefined
    lists[list].push(value)
  }
  const body = single.get("body")
  if (body === undefined) return undefined
  const opt = (key: Single) => Option.fromNullable(single.get(key))
  return {
    body,
    url: opt("url"),
    nameserver: lists.nameserver,
    ca: lists.ca,
    maxRetries: opt("maxRetries"),
    retryTimeout: opt("retryTimeout"),
    connectTimeout: opt("connectTimeout"),
    ioTimeout: opt("ioTimeout"),
    dnsTimeout: opt("dnsTimeout"),
    repeat: opt("repeat"),
    interval: opt("interval"),
    logLevel: Option.none()
  }
}

/** Runs `stpp request` with those options, as the full command would; its exit code. */
export const run = (o: RawOptions): Effect.Effect<number, never, FileSystem.FileSystem> =>
  withRedactingConsole(
    Effect.gen(function*() {
      const exitCode = yield* Ref.make(0)
      const impl = yield* Effect.promise(() => import("./request.js"))
      yield* impl.handle(o).pipe(Effect.provideService(CliContext, { exitCode, logLevel: Option.none() }))
      return yield* Ref.get(exitCode)
    })
  )
