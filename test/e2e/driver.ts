/**
 * A stand-in for `stpp request` (issue 9) while the CLI is not built: the same options, the same
 * JSON line per request and the same exit codes, over the library's live ConnectionService. The
 * e2e tests run the real `node packages/cli/bin/stpp.js` when it exists and this otherwise, so the
 * world is proven either way and the CLI inherits the tests unchanged.
 *
 *   node test/build/e2e/driver.js request --body FILE [--url URL] [--nameserver IP[:PORT]]...
 *     [--ca FILE]... [--max-retries N] [--retry-timeout D] [--connect-timeout D] [--io-timeout D]
 *     [--dns-timeout D] [--repeat N] [--interval D] [--log-level LEVEL]
 */
import * as ConnectionConfig from "@stpp/connect/ConnectionConfig"
import * as ConnectionError from "@stpp/connect/ConnectionError"
import * as ConnectionService from "@stpp/connect/ConnectionService"
import * as Cause from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"

const OPTION_ENV: Record<string, string> = {
  "--url": "STPP_URL",
  "--nameserver": "STPP_NAMESERVERS",
  "--ca": "STPP_CA_FILE",
  "--max-retries": "STPP_MAX_RETRIES",
  "--retry-timeout": "STPP_RETRY_TIMEOUT",
  "--connect-timeout": "STPP_CONNECT_TIMEOUT",
  "--io-timeout": "STPP_IO_TIMEOUT",
  "--dns-timeout": "STPP_DNS_TIMEOUT",
  "--log-level": "STPP_LOG_LEVEL"
}
const REPEATABLE = new Set(["--nameserver", "--ca"])

const usage = (message: string): never => {
  process.stderr.write(`stpp: ${message}\n`)
  process.exit(2)
}

const args = process.argv.slice(2)
if (args[0] !== "request") usage("only `request` is supported by the e2e driver")
const overrides = new Map<string, string>()
let bodyFile: string | undefined
let repeat = 1
let interval = Duration.zero
for (let i = 1; i < args.length; i += 2) {
  const name = args[i]
  const value = args[i + 1]
  if (value === undefined) usage(`${name} needs a value`)
  if (name === "--body") bodyFile = value
  else if (name === "--repeat") {
    repeat = Number(value)
    if (!Number.isInteger(repeat) || repeat < 1 || repeat > 100_000) usage("--repeat: a whole number from 1")
  } else if (name === "--interval") {
    interval = Option.getOrElse(ConnectionConfig.parseDuration(value), () => usage("--interval: not a duration"))
  } else if (OPTION_ENV[name] !== undefined) {
    const env = OPTION_ENV[name]
    const before = overrides.get(env)
    overrides.set(env, REPEATABLE.has(name) && before !== undefined ? `${before},${value}` : value)
  } else usage(`unknown option ${name}`)
}
if (bodyFile === undefined) usage("--body FILE is required")
const username = process.env.STPP_USERNAME
const password = process.env.STPP_PASSWORD
if (username === undefined || password === undefined) usage("STPP_USERNAME and STPP_PASSWORD must be set")

let requests: unknown
try {
  requests = JSON.parse(Fs.readFileSync(bodyFile as string, "utf8"))
} catch {
  usage(`--body: ${bodyFile} is not a readable JSON file`)
}

const provider = ConfigProvider.fromMap(overrides).pipe(ConfigProvider.orElse(() => ConfigProvider.fromEnv()))

const EXIT = { ok: 0, not_sent: 3, outcome_unknown: 4, refused: 5 } as const
type Outcome = keyof typeof EXIT

const reference = (n: number) =>
  `A${(Date.now() % 1e6).toString(36).padStart(4, "0")}${n.toString(36).padStart(4, "0")}`

const one = (n: number) =>
  Effect.gen(function*() {
    const service = yield* ConnectionService.ConnectionService
    const ref = reference(n)
    const envelope = {
      alias: username,
      version: "1.00",
      requestreference: ref,
      request: Array.isArray(requests) ? requests : [requests]
    }
    const started = Date.now()
    const exit = yield* Effect.exit(service.request({
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(envelope),
      auth: { username: username as string, password: Redacted.make(password as string) },
      reference: ref
    }))
    const elapsedMs = Date.now() - started
    let outcome: Outcome
    let line: Record<string, unknown>
    if (Exit.isSuccess(exit)) {
      const r = exit.value
      let response: unknown = null
      try {
        response = JSON.parse(new TextDecoder().decode(r.body))
      } catch {
        response = null
      }
      outcome = "ok"
      line = { outcome, address: r.address, attempts: r.attempts, elapsedMs, error: null, response }
    } else {
      const e = Option.getOrUndefined(Cause.failureOption(exit.cause))
      if (e instanceof ConnectionError.Refused) {
        outcome = "refused"
        line = { outcome, address: e.address, attempts: e.attempts, elapsedMs, error: e.reason, response: null }
      } else if (e instanceof ConnectionError.OutcomeUnknown) {
        outcome = "outcome_unknown"
        line = { outcome, address: e.address, attempts: e.attempts, elapsedMs, error: e.reason, response: null }
      } else if (e instanceof ConnectionError.NotSent) {
        outcome = "not_sent"
        line = {
          outcome,
          address: e.address ?? null,
          attempts: e.attempts,
          elapsedMs,
          error: e.lastError,
          response: null
        }
      } else {
        outcome = "not_sent"
        line = { outcome, address: null, attempts: 0, elapsedMs, error: "Defect", response: null }
      }
    }
    process.stdout.write(JSON.stringify(line) + "\n")
    return outcome
  })

const severity: Record<Outcome, number> = { ok: 0, not_sent: 1, outcome_unknown: 3, refused: 2 }

const program = Effect.gen(function*() {
  let worst: Outcome = "ok"
  for (let n = 0; n < repeat; n++) {
    if (n > 0) yield* Effect.sleep(interval)
    const o = yield* one(n)
    if (severity[o] > severity[worst]) worst = o
  }
  return worst
})

const layer = ConnectionService.layerWithoutConfig.pipe(Layer.provide(ConnectionConfig.layerConfig))

Effect.runPromiseExit(
  program.pipe(Effect.provide(layer), Effect.withConfigProvider(provider))
).then((exit) => {
  if (Exit.isSuccess(exit)) process.exit(EXIT[exit.value])
  const failure = Option.getOrUndefined(Cause.failureOption(exit.cause))
  const text = failure !== undefined && typeof failure === "object" && failure !== null && "_op" in failure
    ? ConnectionConfig.formatConfigError(failure as never)
    : String(failure ?? "stpp: failed")
  process.stderr.write(`stpp: ${text}\n`)
  process.exit(2)
})
