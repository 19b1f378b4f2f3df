/**
 * The work of `stpp request`, loaded when the command runs (so `--help` and usage errors do not
 * load the connection stack).
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as ConnectionConfig from "@stpp/connect/ConnectionConfig"
import type * as ConnectionError from "@stpp/connect/ConnectionError"
import * as ConnectionService from "@stpp/connect/ConnectionService"
import * as Redact from "@stpp/connect/Redact"
import * as Envelope from "@stpp/gateway/Envelope"
import * as GatewayClient from "@stpp/gateway/GatewayClient"
import * as Responses from "@stpp/gateway/Responses"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { exitCodes, type Line } from "../RequestLine.js"
import * as Body from "./body.js"
import { type CliContext, exit, logLevelOf, Output, usageError } from "./context.js"
import * as Settings from "./settings.js"

// -----------------------------------------------------------------------------
// preparing: everything is checked before anything is sent
// -----------------------------------------------------------------------------

interface Prepared {
  readonly given: Settings.Given
  readonly settings: ConnectionConfig.ConnectionSettings
  readonly username: string
  readonly password: Redacted.Redacted<string>
  readonly items: ReadonlyArray<Record<string, unknown>>
  readonly repeat: number
  readonly interval: Duration.Duration
}

/** The command's options as parsed. */
export interface RawOptions {
  readonly body: string
  readonly url: Option.Option<string>
  readonly nameserver: ReadonlyArray<string>
  readonly ca: ReadonlyArray<string>
  readonly maxRetries: Option.Option<string>
  readonly retryTimeout: Option.Option<string>
  readonly connectTimeout: Option.Option<string>
  readonly ioTimeout: Option.Option<string>
  readonly dnsTimeout: Option.Option<string>
  readonly repeat: Option.Option<string>
  readonly interval: Option.Option<string>
  readonly logLevel: Option.Option<string>
}

const MAX_REPEAT = Settings.MAX_REPEAT

const credentials = (g: Settings.Given) =>
  Effect.gen(function*() {
    const read = Config.all({
      username: Config.option(Config.string("STPP_USERNAME")),
      password: Config.option(Config.redacted("STPP_PASSWORD")),
      sitereference: Config.option(Config.string("STPP_SITE_REFERENCE"))
    })
    const c = yield* read.pipe(
      Effect.withConfigProvider(Settings.provider(g)),
      Effect.mapError(() => "STPP_USERNAME, STPP_PASSWORD: cannot be read from the environment")
    )
    if (Option.isNone(c.username) || c.username.value.trim() === "") {
      return yield* Effect.fail(
        "STPP_USERNAME is not set; allowed: the gateway's web-services user, from the environment only"
      )
    }
    if (Option.isNone(c.password) || Redacted.value(c.password.value) === "") {
      return yield* Effect.fail(
        "STPP_PASSWORD is not set; allowed: the web-services user's password, from the environment only"
      )
    }
    const site = Option.filter(c.sitereference, (s) => s.trim() !== "")
    return { username: c.username.value, password: c.password.value, sitereference: Option.getOrUndefined(site) }
  })

const prepare = (o: RawOptions): Effect.Effect<Prepared, string, CliContext | FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const logLevel = yield* logLevelOf(o.logLevel)
    const given = Settings.given([
      ["url", o.url],
      ["nameserver", o.nameserver],
      ["ca", o.ca],
      ["max-retries", o.maxRetries],
      ["retry-timeout", o.retryTimeout],
      ["connect-timeout", o.connectTimeout],
      ["io-timeout", o.ioTimeout],
      ["dns-timeout", o.dnsTimeout],
      ["log-level", logLevel]
    ])
    const settings = yield* Settings.readSettings(given)
    const repeat = Option.isSome(o.repeat)
      ? yield* Settings.wholeNumber("--repeat", o.repeat.value, 1, MAX_REPEAT)
      : 1
    const interval = Option.isSome(o.interval)
      ? yield* Option.match(ConnectionConfig.parseDuration(o.interval.value), {
        onNone: () =>
          Effect.fail(
            `--interval: ${
              JSON.stringify(o.interval.pipe(Option.getOrElse(() => "")).slice(0, 40))
            } is not a duration; allowed: e.g. "500ms", "5s", "1m" or "5 seconds"`
          ),
        onSome: (d) =>
          Duration.greaterThan(d, Duration.hours(1))
            ? Effect.fail(`--interval: ${Duration.format(d)} is out of range; allowed: a duration from 0ms to 1h`)
            : Effect.succeed(d)
      })
      : Duration.zero
    const creds = yield* credentials(given)
    const items = yield* Body.read(o.body, creds.sitereference)
    return {
      given,
      settings,
      username: creds.username,
      password: creds.password,
      items,
      repeat,
      interval
    } satisfies Prepared
  })

// -----------------------------------------------------------------------------
// sending
// -----------------------------------------------------------------------------

const textDecoder = new TextDecoder("utf-8", { fatal: false })

const failedLine = (
  e: ConnectionError.RequestError,
  reference: string,
  elapsedMs: number
): Line => {
  switch (e._tag) {
    case "NotSent":
      return {
        outcome: "not_sent",
        address: e.address ?? null,
        attempts: e.attempts,
        elapsedMs,
        error: e.lastError,
        response: null,
        reference,
        status: null,
        reused: false,
        message: Redact.string(e.message)
      }
    case "Refused":
      return {
        outcome: "refused",
        address: e.address === "-" ? null : e.address,
        attempts: e.attempts,
        elapsedMs,
        error: e.reason,
        response: null,
        reference,
        status: null,
        reused: false,
        message: Redact.string(e.message)
      }
    case "OutcomeUnknown":
      return {
        outcome: "outcome_unknown",
        address: e.address,
        attempts: e.attempts,
        elapsedMs,
        error: e._tag,
        response: null,
        reference,
        status: null,
        reused: e.attempts === 0,
        message: Redact.string(e.message)
      }
  }
}

/** The gateway answered, but not with a usable answer to this request: its outcome is unknown. */
const unusable = (
  response: ConnectionService.GatewayResponse,
  reference: string,
  elapsedMs: number,
  error: string,
  message: string
): Line => ({
  outcome: "outcome_unknown",
  address: response.address,
  attempts: response.attempts,
  elapsedMs,
  error,
  response: null,
  reference,
  status: response.status,
  reused: response.reused,
  message: `${message}; the outcome is unknown: look the request up (reference ${reference}) before resending`
})

/** HTTP 401 (the gateway's HTML page) or errorcode 60022: the credentials were not accepted, nothing processed. */
const unauthenticated = (
  response: ConnectionService.GatewayResponse,
  reference: string,
  elapsedMs: number,
  how: string
): Line => ({
  outcome: "unauthenticated",
  address: response.address,
  attempts: response.attempts,
  elapsedMs,
  error: "Unauthenticated",
  response: null,
  reference,
  status: response.status,
  reused: response.reused,
  message:
    `the gateway did not accept the web-services user (${how}; nothing was processed): check STPP_USERNAME and STPP_PASSWORD`
})

/** The card values sent (`pan`, `expirydate`, `securitycode`, `cachetoken`): a gateway may echo them. */
const sentSecrets = (items: ReadonlyArray<Record<string, unknown>>): ReadonlyArray<string> =>
  items.flatMap((item) =>
    ["pan", "expirydate", "securitycode", "cachetoken"].map((k) => item[k]).filter((v): v is string =>
      typeof v === "string" && v.length >= 3
    )
  )

/** The line for an answer; its `response` is the answer as it came: `Output` redacts the whole line. */
const answeredLine = (
  response: ConnectionService.GatewayResponse,
  reference: string,
  elapsedMs: number
): Line => {
  if (response.status === 401) return unauthenticated(response, reference, elapsedMs, "HTTP 401")
  if (response.status !== 200) {
    return unusable(response, reference, elapsedMs, "HttpStatusError", `the gateway answered HTTP ${response.status}`)
  }
  let json: unknown
  try {
    json = JSON.parse(textDecoder.decode(response.body))
  } catch {
    return unusable(response, reference, elapsedMs, "MalformedResponse", "the gateway's answer is not JSON")
  }
  const decoded = Responses.decodeEnvelope(json)
  if (Either.isLeft(decoded)) {
    return unusable(
      response,
      reference,
      elapsedMs,
      "MalformedResponse",
      "the gateway's answer is not a response envelope"
    )
  }
  // The envelope and every item that echoes it must carry the reference sent (G3).
  const echoed = Responses.foreignReference(decoded.right, reference)
  if (echoed !== undefined) {
    return unusable(
      response,
      reference,
      elapsedMs,
      "ReferenceMismatch",
      `the answer carries requestreference ${Redact.string(echoed)}, not ${reference}`
    )
  }
  const codes = decoded.right.response.map((i) => i.errorcode)
  if (codes.includes(Responses.UNAUTHENTICATED)) {
    return unauthenticated(response, reference, elapsedMs, `errorcode ${Responses.UNAUTHENTICATED}`)
  }
  const unknown = codes.find(Responses.isFinalStatusUnknown)
  if (unknown !== undefined) {
    // An answer, but one saying the final status is not known (G1): never resend, look it up.
    return {
      outcome: "outcome_unknown",
      address: response.address,
      attempts: response.attempts,
      elapsedMs,
      error: "FinalStatusUnknown",
      response: json,
      reference,
      status: response.status,
      reused: response.reused,
      message:
        `the gateway answered errorcode ${unknown}: the final status is not known; do not resend: look the request up (reference ${reference}), and if it is still unknown contact the gateway's support with that reference`
    }
  }
  return {
    outcome: "ok",
    address: response.address,
    attempts: response.attempts,
    elapsedMs,
    error: null,
    response: json,
    reference,
    status: response.status,
    reused: response.reused
  }
}

const sendOne = (
  service: ConnectionService.ConnectionService["Type"],
  p: Prepared
): Effect.Effect<Line> =>
  Effect.gen(function*() {
    const reference = yield* GatewayClient.makeReference
    // The reference goes in the header and in every request item, as the official libraries send it (G3).
    const body = JSON.stringify({
      alias: p.username,
      version: Envelope.VERSION,
      request: p.items.map((item) => ({ ...item, requestreference: reference })),
      libraryversion: Envelope.LIBRARY_VERSION
    })
    const started = yield* Clock.currentTimeMillis
    const result = yield* service.request(
      GatewayClient.wireRequest(body, { username: p.username, password: p.password }, reference)
    ).pipe(Effect.either)
    const elapsedMs = (yield* Clock.currentTimeMillis) - started
    const line = Either.isRight(result)
      ? answeredLine(result.right, reference, elapsedMs)
      : failedLine(result.left, reference, elapsedMs)
    const annotations = {
      outcome: line.outcome,
      reference,
      address: line.address ?? "-",
      attempts: line.attempts,
      elapsedMs
    }
    yield* (line.outcome === "ok"
      ? Effect.logInfo("request answered")
      : Effect.logWarning(line.message ?? line.outcome)).pipe(Effect.annotateLogs(annotations))
    return line
  })

const run = (p: Prepared): Effect.Effect<void, never, CliContext | Output> =>
  Effect.gen(function*() {
    const service = yield* ConnectionService.ConnectionService
    // The same card values go out each time; a gateway may echo them: taken out of every line.
    const sent = sentSecrets(p.items)
    const print = (yield* Output).jsonLines(sent)
    let worst = 0
    for (let i = 0; i < p.repeat; i++) {
      if (i > 0 && Duration.toMillis(p.interval) > 0) yield* Effect.sleep(p.interval)
      const line = yield* sendOne(service, p)
      yield* print(line)
      worst = Math.max(worst, exitCodes[line.outcome])
      // Bad credentials will not get better by repeating: nothing more is sent.
      if (line.outcome === "unauthenticated") break
    }
    yield* exit(worst)
  }).pipe(
    Effect.provide(
      ConnectionService.layerWithoutConfig.pipe(
        Layer.provide(Layer.succeed(ConnectionConfig.ConnectionConfig, p.settings))
      )
    ),
    Effect.catchTags({
      TrustStoreError: (e) => usageError(Settings.nameSource(e.message, p.given)),
      LiveDebugRefused: (e) =>
        usageError(
          p.given.options.has("STPP_LOG_LEVEL")
            ? `--log-level: ${e.level} is refused against the live gateway ${e.host}; allowed: info or less verbose, or set STPP_ALLOW_LIVE_DEBUG=true`
            : e.message
        )
    })
  )

/** Checks everything, then sends; a problem found before sending is an exit 2. */
export const handle = (o: RawOptions): Effect.Effect<void, never, CliContext | Output | FileSystem.FileSystem> =>
  prepare(o).pipe(Effect.matchEffect({ onFailure: usageError, onSuccess: run }))
