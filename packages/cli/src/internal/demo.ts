/**
 * The work of `stpp demo`, loaded when the command runs (the simulator is not loaded otherwise).
 *
 * @internal
 */
import * as ConnectionConfig from "@stpp/connect/ConnectionConfig"
import * as ConnectionService from "@stpp/connect/ConnectionService"
import * as Redact from "@stpp/connect/Redact"
import * as GatewayClient from "@stpp/gateway/GatewayClient"
import type * as Requests from "@stpp/gateway/Requests"
import * as GatewayServer from "@stpp/simulator/GatewayServer"
import * as Simulator from "@stpp/simulator/Simulator"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { type CliContext, exit, logLevelOf, usageError } from "./context.js"
import * as Settings from "./settings.js"

// -----------------------------------------------------------------------------
// the scenario's data
// -----------------------------------------------------------------------------

/** The gateway's addresses in the demo (loopback only). */
const A = "127.0.0.71"
const B = "127.0.0.72"
const C = "127.0.0.73"
/** The address of the second gateway, the one with an expired certificate. */
const EXPIRED = "127.0.0.74"

/** The standard Visa test card: never printed, only sent (and masked by the gateway). */
const TEST_PAN = "4111111111111111"

/**
 * Short time-outs so that the whole demo takes seconds: each setting is one the library reads from
 * `STPP_*` in production.
 */
const demoSettings = (sim: Simulator.Simulator, logLevel: string, logFormat: string) =>
  ConnectionConfig.make({
    url: sim.url,
    nameservers: sim.nameservers,
    caFiles: [sim.caFile],
    trustStore: "only",
    connectTimeout: "1 second",
    retryTimeout: "5 seconds",
    ioTimeout: "3 seconds",
    dnsTimeout: "300 millis",
    retryBaseDelay: "400 millis",
    retryMaxDelay: "800 millis",
    logLevel,
    logFormat
  })

const auth = (sim: Simulator.Simulator, orderreference: string): Requests.Auth => ({
  requesttypedescriptions: ["AUTH"],
  sitereference: sim.sitereference,
  baseamount: "1050",
  currencyiso3a: "GBP",
  accounttypedescription: "ECOM",
  orderreference,
  pan: Redacted.make(TEST_PAN),
  expirydate: Redacted.make("12/2030"),
  securitycode: Redacted.make("123")
})

const clientLayer = (sim: Simulator.Simulator, settings: ConnectionConfig.ConnectionSettings) =>
  GatewayClient.layer({
    username: sim.username,
    password: Redacted.make(sim.password),
    sitereference: sim.sitereference
  }).pipe(
    Layer.provide(ConnectionService.layerWithoutConfig),
    Layer.provide(Layer.succeed(ConnectionConfig.ConnectionConfig, settings))
  )

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

// -----------------------------------------------------------------------------
// the timeline
// -----------------------------------------------------------------------------

interface StepResult {
  readonly title: string
  readonly ok: boolean
  readonly detail: string
}

const makeTimeline = Effect.gen(function*() {
  const t0 = yield* Clock.currentTimeMillis
  const stamp = Effect.map(Clock.currentTimeMillis, (now) => `${((now - t0) / 1000).toFixed(2).padStart(6)}s`)
  // Everything printed passes through the same redaction as the logs: belt and braces.
  const say = (text: string) => Effect.flatMap(stamp, (s) => Console.log(`${s}  ${Redact.string(text)}`))
  const note = (text: string) => Console.log(`         ${Redact.string(text)}`)
  return { say, note }
})

type Timeline = Effect.Effect.Success<typeof makeTimeline>

/** Runs one step; an unexpected failure is a failed step, not the end of the demo. */
const step = <E, R>(
  title: string,
  body: Effect.Effect<{ readonly ok: boolean; readonly detail: string }, E, R>,
  timeline: Timeline
): Effect.Effect<StepResult, never, R> =>
  Console.log(`\n== ${title}`).pipe(
    Effect.zipRight(
      body.pipe(
        Effect.catchAllCause((cause) =>
          Effect.succeed({ ok: false, detail: `unexpected: ${Redact.string(String(cause).split("\n")[0])}` })
        )
      )
    ),
    Effect.tap((r) => timeline.say(r.ok ? `as expected: ${r.detail}` : `NOT as expected: ${r.detail}`)),
    Effect.map((r) => ({ title, ...r }))
  )

const itemOf = (sent: GatewayClient.Sent) => sent.envelope.response[0]

/** Waits (bounded) until the simulator's DNS server has had a new query for the gateway's A record. */
const awaitDnsQuery = (sim: Simulator.Simulator, seen: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 300; i++) {
      const queries = yield* sim.dns.queries
      const count = queries.filter((q) => q.name === sim.hostname && q.type === "A").length
      if (count > seen) return true
      yield* Effect.sleep("10 millis")
    }
    return false
  })

const countA = (sim: Simulator.Simulator) =>
  Effect.map(sim.dns.queries, (qs) => qs.filter((q) => q.name === sim.hostname && q.type === "A").length)

// -----------------------------------------------------------------------------
// the steps
// -----------------------------------------------------------------------------

type Gateway = GatewayClient.GatewayClient["Type"]

const authorised = (sim: Simulator.Simulator, timeline: Timeline, gateway: Gateway) => {
  const { note, say } = timeline
  return Effect.gen(function*() {
    yield* say(`DNS names ${A} for ${sim.hostname} (TTL 1 s); sending an AUTH of GBP 10.50 (order demo-1)`)
    // Redaction is part of the service's logger layer (L1, L2): the request's card fields and a
    // card number written into free text both reach standard error masked.
    yield* Effect.logInfo(`demo: paying order demo-1 with card ${TEST_PAN}`).pipe(
      Effect.annotateLogs({ request: auth(sim, "demo-1") })
    )
    yield* note("logged the request and a message holding the card number: see standard error, both masked")
    const sent = yield* gateway.send([auth(sim, "demo-1")])
    const item = itemOf(sent)
    yield* say(
      `answered by ${sent.address} after ${plural(sent.attempts, "connect attempt")} in ${sent.elapsedMillis} ms`
    )
    yield* note(
      `errorcode ${item.errorcode} (${item.errormessage ?? ""}), card ${item.maskedpan ?? "?"}, ` +
        `authcode ${item.authcode ?? "-"}, transaction ${item.transactionreference ?? "-"}`
    )
    yield* note("the request's card fields were Redacted values: only the wire JSON held them")
    return {
      ok: item.errorcode === "0" && sent.address === A && sent.attempts === 1,
      detail: `authorised by ${sent.address}, card shown as ${item.maskedpan ?? "?"}`
    }
  })
}

const dnsChange = (sim: Simulator.Simulator, timeline: Timeline, gateway: Gateway) => {
  const { say } = timeline
  return Effect.gen(function*() {
    yield* sim.pointDnsAt(B)
    yield* say(`the load balancer now names ${B}; the client's answer (${A}) is good for 1 s more at most`)
    yield* say("waiting 1.2 s, past the TTL: the kept-alive connection to the old address is retired when idle")
    yield* Effect.sleep("1200 millis")
    const sent = yield* gateway.send([auth(sim, "demo-2")])
    yield* say(
      `AUTH (order demo-2) answered by ${sent.address} after ${plural(sent.attempts, "connect attempt")}`
    )
    return {
      ok: itemOf(sent).errorcode === "0" && sent.address === B,
      detail: `the next AUTH went to ${sent.address}, the address DNS names now`
    }
  })
}

const deadAddress = (sim: Simulator.Simulator, timeline: Timeline, gateway: Gateway) => {
  const { say } = timeline
  return Effect.gen(function*() {
    yield* say("waiting 1.1 s so the client asks DNS again for the next request")
    yield* Effect.sleep("1100 millis")
    yield* sim.setFault(B, GatewayServer.Fault.Refuse())
    yield* sim.gateway.closeConnections(B)
    yield* say(`${B} dies (connections refused) while DNS still names it; sending an AUTH (order demo-3)`)
    const before = yield* countA(sim)
    const fiber = yield* Effect.fork(gateway.send([auth(sim, "demo-3")]))
    const asked = yield* awaitDnsQuery(sim, before)
    yield* sim.pointDnsAt(C)
    yield* say(
      `${asked ? "the client asked DNS and got the dead address; " : ""}the load balancer now names ${C}`
    )
    const sent = yield* Fiber.join(fiber)
    yield* say(
      `AUTH (order demo-3) answered by ${sent.address} after ${
        plural(sent.attempts, "connect attempt")
      } in ${sent.elapsedMillis} ms: the refused attempt was retried (nothing had been sent), ` +
        "on a fresh DNS answer"
    )
    return {
      ok: itemOf(sent).errorcode === "0" && sent.address === C && sent.attempts >= 2,
      detail: `${plural(sent.attempts, "attempt")}, the last to ${sent.address}; ${B} left behind`
    }
  })
}

const resetAfterSending = (sim: Simulator.Simulator, timeline: Timeline, gateway: Gateway) => {
  const { note, say } = timeline
  return Effect.gen(function*() {
    yield* sim.setFault(C, GatewayServer.Fault.ResetAfterRequest({ requestTypes: ["AUTH"] }))
    yield* say(`${C} will process the next AUTH and then reset the connection before answering`)
    const first = yield* Effect.either(gateway.auth({
      baseamount: "2500",
      currencyiso3a: "GBP",
      accounttypedescription: "ECOM",
      orderreference: "demo-4",
      pan: Redacted.make(TEST_PAN),
      expirydate: Redacted.make("12/2030"),
      securitycode: Redacted.make("123")
    }))
    if (Either.isRight(first) || first.left._tag !== "OutcomeUnknown") {
      return {
        ok: false,
        detail: `expected OutcomeUnknown, got ${Either.isRight(first) ? first.right._tag : first.left._tag}`
      }
    }
    const unknown = first.left
    yield* say(
      `OutcomeUnknown: ${unknown.bytesWritten} bytes were sent to ${unknown.address}, then ${unknown.reason} ` +
        `while ${unknown.phase}. Not retried: the gateway may have taken the money`
    )
    yield* say("instead of sending the AUTH again, look the payment up by its order reference (TRANSACTIONQUERY)")
    const found = yield* gateway.lookupAfterOutcomeUnknown("demo-4")
    const record = found.records.find((r) => r.requesttypedescription === "AUTH")
    yield* note(
      `found ${found.found}: ${record?.requesttypedescription ?? "?"} ${record?.transactionreference ?? "?"}, ` +
        `errorcode ${record?.errorcode ?? "?"}, card ${record?.maskedpan ?? "?"}`
    )
    const auths = sim.transactions().filter((t) => t.orderreference === "demo-4" && t.requesttypedescription === "AUTH")
    yield* say(`the simulator recorded ${plural(auths.length, "AUTH")} for order demo-4`)
    yield* note("GatewayClient.authOrLookup does both in one call")
    return {
      ok: auths.length === 1 && record !== undefined && record.errorcode === "0",
      detail: `the payment was found (${record?.transactionreference ?? "?"}); exactly ${auths.length} charge`
    }
  })
}

const finalStatusUnknown = (sim: Simulator.Simulator, timeline: Timeline, gateway: Gateway) => {
  const { note, say } = timeline
  return Effect.gen(function*() {
    yield* sim.setFault(
      C,
      GatewayServer.Fault.ErrorCode({ code: "60010", process: true, requestTypes: ["AUTH"] })
    )
    yield* say(`${C} will process the next AUTH, but answer it with errorcode 60010 (bank system error)`)
    yield* say("GatewayClient.authOrLookup: an AUTH (order demo-5), then, on 60010, a TRANSACTIONQUERY")
    const outcome = yield* gateway.authOrLookup({
      baseamount: "3000",
      currencyiso3a: "GBP",
      accounttypedescription: "ECOM",
      orderreference: "demo-5",
      pan: Redacted.make(TEST_PAN),
      expirydate: Redacted.make("12/2030"),
      securitycode: Redacted.make("123")
    }).pipe(Effect.either)
    yield* sim.setFault(C, GatewayServer.Fault.None())
    if (Either.isLeft(outcome)) return { ok: false, detail: `expected a result, got ${outcome.left._tag}` }
    const found = outcome.right
    yield* say(
      `the answer said 60010 (outcome unknown: never resend); the lookup found it: ${found._tag}` +
        `${found.recovered ? " (recovered by the lookup)" : ""}, transaction ${found.transactionreference ?? "?"}`
    )
    const auths = sim.transactions().filter((t) => t.orderreference === "demo-5" && t.requesttypedescription === "AUTH")
    yield* say(`the simulator recorded ${plural(auths.length, "AUTH")} for order demo-5`)
    yield* note("had the record still shown 60010, the result would be ContactSupport with the request reference")
    return {
      ok: found._tag === "Authorised" && found.recovered && auths.length === 1,
      detail: `${found._tag} by lookup; exactly ${auths.length} charge`
    }
  })
}

const scenario = (sim: Simulator.Simulator, timeline: Timeline) =>
  Effect.gen(function*() {
    const gateway = yield* GatewayClient.GatewayClient
    const results: Array<StepResult> = []
    results.push(yield* step("1. An AUTH that succeeds", authorised(sim, timeline, gateway), timeline))
    results.push(yield* step("2. A DNS change followed", dnsChange(sim, timeline, gateway), timeline))
    results.push(yield* step("3. A dead address left behind", deadAddress(sim, timeline, gateway), timeline))
    results.push(
      yield* step(
        "4. A reset after sending: a lookup, not a second charge",
        resetAfterSending(sim, timeline, gateway),
        timeline
      )
    )
    results.push(
      yield* step(
        "5. Errorcode 60010, the final status is not known: a lookup, not a second charge",
        finalStatusUnknown(sim, timeline, gateway),
        timeline
      )
    )
    return results
  })

const refusedStep = (timeline: Timeline, logLevel: string, logFormat: string) =>
  step(
    "6. A refused certificate",
    Effect.scoped(Effect.gen(function*() {
      const { note, say } = timeline
      const sim = yield* Simulator.start({ addresses: [EXPIRED], leaf: "expired" })
      yield* say(`a second gateway on ${EXPIRED} serves a certificate that expired 30 days ago`)
      const settings = yield* demoSettings(sim, logLevel, logFormat)
      const result = yield* Effect.either(
        Effect.flatMap(GatewayClient.GatewayClient, (g) => g.send([auth(sim, "demo-6")])).pipe(
          Effect.provide(clientLayer(sim, settings))
        )
      )
      if (Either.isRight(result) || result.left._tag !== "Refused") {
        return {
          ok: false,
          detail: `expected Refused, got ${Either.isRight(result) ? "an answer" : result.left._tag}`
        }
      }
      const refused = result.left
      yield* say(`Refused (${refused.reason}) after ${plural(refused.attempts, "attempt")}: ${refused.detail}`)
      const received = sim.requestsReceived()
      yield* note(`requests the second gateway received: ${received}. A security refusal is never retried`)
      return {
        ok: received === 0 && refused.attempts === 1,
        detail: `${refused.reason}; nothing was sent`
      }
    })),
    timeline
  )

const demo = (logLevel: string, logFormat: string) =>
  Effect.scoped(Effect.gen(function*() {
    const timeline = yield* makeTimeline
    yield* Console.log("stpp demo: a payment end to end against the local gateway simulator")
    yield* Console.log("(timeline here on standard output; the library's redacted logs on standard error)\n")
    const sim = yield* Simulator.start({ addresses: [A, B, C], dnsAnswer: [A] })
    yield* timeline.say(
      `simulator up: ${sim.hostname} on ${sim.addresses.join(", ")} port ${sim.port}, DNS ${
        sim.nameservers.join(", ")
      }, its own test CA`
    )
    const settings = yield* demoSettings(sim, logLevel, logFormat)
    const first = yield* scenario(sim, timeline).pipe(Effect.provide(clientLayer(sim, settings)))
    const last = yield* refusedStep(timeline, logLevel, logFormat)
    const results = [...first, last]
    const failed = results.filter((r) => !r.ok)
    yield* Console.log("")
    for (const r of results) yield* Console.log(`${r.ok ? "ok  " : "FAIL"} ${r.title}: ${r.detail}`)
    yield* Console.log(
      failed.length === 0
        ? `\nAll ${results.length} steps behaved as expected.`
        : `\n${failed.length} of ${results.length} steps did not behave as expected.`
    )
    return failed.length === 0 ? 0 : 1
  }))

// -----------------------------------------------------------------------------
// the command
// -----------------------------------------------------------------------------

/** Runs the demo and sets the exit code. */
export const run = (o: { readonly logLevel: Option.Option<string> }): Effect.Effect<void, never, CliContext> =>
  Effect.gen(function*() {
    const fromArgs = yield* logLevelOf(o.logLevel)
    const level = Option.isSome(fromArgs)
      ? fromArgs
      : yield* Settings.envOption("STPP_LOG_LEVEL")
    const format = yield* Settings.envOption("STPP_LOG_FORMAT")
    const logLevel = Option.getOrElse(level, () => "info")
    const logFormat = Option.getOrElse(format, () => "logfmt")
    // Check the two settings the demo takes from outside before starting anything.
    const checked = yield* Effect.either(ConnectionConfig.make({ logLevel, logFormat }))
    if (Either.isLeft(checked)) {
      const g: Settings.Given = {
        values: new Map(),
        options: Option.isSome(fromArgs) ? new Map([["STPP_LOG_LEVEL", "--log-level"]]) : new Map()
      }
      return yield* usageError(Settings.describeConfigError(checked.left, g))
    }
    const code = yield* demo(logLevel, logFormat).pipe(
      Effect.catchAll((e) => Console.error(`stpp demo: ${Redact.string(e.message)}`).pipe(Effect.as(1)))
    )
    yield* exit(code)
  })
