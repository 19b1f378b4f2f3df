import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import * as ConnectionConfig from "../src/ConnectionConfig.js"
import * as RedactingLogger from "../src/RedactingLogger.js"

const VISA = "4111111111111111"
const MC = "5555555555554444"
const AMEX = "378282246310005"
const PANS = [VISA, MC, AMEX]
const CVV = "8642"
const PASSWORD = "hunter2-S3cret"
const BASIC = "dXNlcjpwYXNz"
const BEARER = "tok_live_ZYX987abc"
const SECRETS = [...PANS, `"${CVV}"`, `=${CVV}`, PASSWORD, BASIC, BEARER, "12/2030"]

/** Fails without printing the text: a failure message shows which secret, never the line. */
const expectClean = (texts: ReadonlyArray<string>) => {
  for (const text of texts) {
    const digitsOnly = text.replace(/[ -]/g, "")
    for (const secret of SECRETS) {
      expect(text.includes(secret), `a secret (#${SECRETS.indexOf(secret)}) reached the output`).toBe(false)
    }
    for (const pan of PANS) {
      expect(digitsOnly.includes(pan), "a PAN with separators reached the output").toBe(false)
    }
  }
}

const TEST_HOST = "https://gateway.example.test/json/"

const loggerLayer = (input: ConnectionConfig.ConnectionSettingsInput) =>
  RedactingLogger.layerTest.pipe(Layer.provide(ConnectionConfig.layer(input)))

class PaymentDeclined extends Data.TaggedError("PaymentDeclined")<{
  readonly message: string
  readonly password: string
  readonly reference: string
}> {}

interface Recorded {
  readonly names: Array<string>
  readonly attributes: Array<Record<string, unknown>>
  readonly events: Array<{ name: string; attributes: Record<string, unknown> | undefined }>
}

/** A tracer that records what reaches it: wrapped by `redactingTracer`, nothing recorded is raw. */
const recordingTracer = (recorded: Recorded): Tracer.Tracer =>
  Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      recorded.names.push(name)
      if (options?.attributes !== undefined) recorded.attributes.push({ ...options.attributes })
      const attributes = new Map<string, unknown>()
      let status: Tracer.SpanStatus = { _tag: "Started", startTime }
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: `s${recorded.names.length}`,
        traceId: "t1",
        parent,
        context,
        get status() {
          return status
        },
        attributes,
        links,
        sampled: true,
        kind,
        end: (endTime, exit) => {
          status = { _tag: "Ended", startTime, endTime, exit }
        },
        attribute: (key, value) => {
          attributes.set(key, value)
          recorded.attributes.push({ [key]: value })
        },
        event: (eventName, _time, eventAttributes) => {
          recorded.events.push({ name: eventName, attributes: eventAttributes })
        },
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })

describe("RedactingLogger", () => {
  it.effect("L1/L2: a failing request-like program with debug logging leaks nothing through any output", () =>
    Effect.gen(function*() {
      const recorded: Recorded = { names: [], attributes: [], events: [] }
      const extraLines: Array<string> = []
      // Another logger the application installed before the layer: it must receive redacted input.
      const extra = Logger.make((options) => {
        extraLines.push(Logger.logfmtLogger.log(options))
      })

      const request = {
        requesttypedescriptions: ["AUTH"],
        pan: VISA,
        expirydate: "12/2030",
        securitycode: CVV,
        headers: { Authorization: `Basic ${BASIC}`, "X-Trace": "t-1" },
        body: JSON.stringify({ pan: MC, securitycode: CVV, baseamount: "1050" })
      }
      const program = Effect.gen(function*() {
        yield* Effect.logDebug("sending request", request)
        yield* Effect.logDebug(`raw: POST /json/ Authorization: Bearer ${BEARER}\ncard 5555 5555 5555 4444`)
        yield* Effect.annotateCurrentSpan("card", `${AMEX}`)
        return yield* new PaymentDeclined({
          message: `declined for ${AMEX}, password=${PASSWORD}`,
          password: PASSWORD,
          reference: "ref-1"
        })
      }).pipe(
        Effect.annotateLogs({ requestId: "r-1", authorization: `Basic ${BASIC}`, cardnumber: VISA, note: `pan ${MC}` }),
        Effect.withLogSpan(`request ${VISA}`),
        Effect.withSpan(`gateway.request ${VISA}`, {
          attributes: { "http.request.header.authorization": `Basic ${BASIC}`, pan: MC, ok: "yes" }
        }),
        Effect.tapErrorCause((cause) => Effect.logError("request failed", cause)),
        Effect.catchAll(() => Effect.die(new Error(`socket dump: Authorization: Basic ${BASIC} cvv=${CVV}`))),
        Effect.catchAllDefect((defect) => Effect.logFatal("defect", Cause.die(defect))),
        Effect.zipRight(RedactingLogger.capturedLines)
      )

      // The app asks for its logger and its tracer to be redacted (E2: the library leaves them alone).
      const lines = yield* program.pipe(
        Effect.provide(loggerLayer({ logLevel: "debug", url: TEST_HOST })),
        Effect.withTracer(RedactingLogger.redactingTracer(recordingTracer(recorded))),
        Effect.locally(
          FiberRef.currentLoggers,
          HashSet.make(Logger.defaultLogger, Logger.tracerLogger, RedactingLogger.wrap(extra))
        )
      )

      expect(lines.length).toBe(4)
      const parsed = lines.map((l) => JSON.parse(l))
      expect(parsed[0].logLevel).toBe("DEBUG")
      expect(parsed[0].message[1].securitycode).toBe("<redacted>")
      expect(parsed[0].message[1].expirydate).toBe("<redacted>")
      expect(parsed[0].message[1].pan).toBe("411111******1111")
      expect(parsed[0].message[1].headers.Authorization).toBe("<redacted>")
      expect(JSON.parse(parsed[0].message[1].body).securitycode).toBe("<redacted>")
      expect(parsed[0].annotations.authorization).toBe("<redacted>")
      expect(parsed[0].annotations.cardnumber).toBe("411111******1111")
      expect(parsed[0].annotations.requestId).toBe("r-1")
      expect(Object.keys(parsed[0].spans)[0]).toBe("request 411111******1111")
      expect(parsed[2].cause.includes("PaymentDeclined")).toBe(true)
      expect(parsed[2].cause.includes("378282*****0005")).toBe(true)
      expect(parsed[3].cause.includes("Authorization: <redacted>")).toBe(true)
      expect(lines.join("\n").includes("411111******1111")).toBe(true)

      expect(extraLines.length).toBe(4)
      expect(recorded.names.length).toBeGreaterThan(0)
      expect(recorded.names[0]).toBe("gateway.request 411111******1111")
      expect(recorded.events.length).toBeGreaterThan(0)
      const traced = JSON.stringify(recorded)
      expectClean([...lines, ...extraLines, traced])
      expect(traced.includes("\"ok\":\"yes\"")).toBe(true)
    }))

  it.effect("L3: the default level is Info, so debug lines are not written", () =>
    Effect.gen(function*() {
      const lines = yield* Effect.gen(function*() {
        yield* Effect.logDebug("hidden")
        yield* Effect.logInfo("shown")
        return yield* RedactingLogger.capturedLines
      }).pipe(Effect.provide(loggerLayer({})))
      expect(lines.length).toBe(1)
      expect(JSON.parse(lines[0]).message).toBe("shown")
    }))

  it.effect("L3: debug against a live host without STPP_ALLOW_LIVE_DEBUG fails the layer with a typed error", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.void.pipe(Effect.provide(loggerLayer({ logLevel: "debug" })), Effect.exit)
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? Option.getOrThrow(Cause.failureOption(exit.cause)) : undefined
      expect(error instanceof RedactingLogger.LiveDebugRefused).toBe(true)
      if (error instanceof RedactingLogger.LiveDebugRefused) {
        expect(error.host).toBe("webservices.securetrading.net")
        expect(error.message.includes("STPP_LOG_LEVEL=debug")).toBe(true)
        expect(error.message.includes("STPP_ALLOW_LIVE_DEBUG=true")).toBe(true)
      }
      for (const level of ["trace", "all"] as const) {
        const other = yield* Effect.void.pipe(Effect.provide(loggerLayer({ logLevel: level })), Effect.flip)
        expect(other._tag).toBe("LiveDebugRefused")
      }
    }))

  it.effect("L3/C3: the same refusal when the settings come from STPP_* environment variables", () =>
    Effect.gen(function*() {
      const layer = RedactingLogger.layerTest.pipe(Layer.provide(ConnectionConfig.layerConfig))
      const error = yield* Effect.void.pipe(
        Effect.provide(layer),
        Effect.flip,
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["STPP_LOG_LEVEL", "debug"]])))
      )
      expect(error._tag).toBe("LiveDebugRefused")
      const allowed = yield* RedactingLogger.capturedLines.pipe(
        Effect.provide(layer),
        Effect.withConfigProvider(
          ConfigProvider.fromMap(new Map([["STPP_LOG_LEVEL", "debug"], ["STPP_ALLOW_LIVE_DEBUG", "true"]]))
        )
      )
      expect(allowed.length).toBe(1)
    }))

  it.effect("L3: with STPP_ALLOW_LIVE_DEBUG a warning is logged at start and debug output is still redacted", () =>
    Effect.gen(function*() {
      const lines = yield* Effect.gen(function*() {
        yield* Effect.logDebug(`card ${VISA}`, { cvv: CVV })
        return yield* RedactingLogger.capturedLines
      }).pipe(Effect.provide(loggerLayer({ logLevel: "debug", allowLiveDebug: true })))
      expect(lines.length).toBe(2)
      const warning = JSON.parse(lines[0])
      expect(warning.logLevel).toBe("WARN")
      expect(warning.message.includes("STPP_ALLOW_LIVE_DEBUG")).toBe(true)
      expect(JSON.parse(lines[1]).message).toEqual(["card 411111******1111", { cvv: "<redacted>" }])
      expectClean(lines)
    }))

  it.effect("L3: against a live host at Info, a local withMinimumLogLevel(Debug) cannot turn debug on", () =>
    Effect.gen(function*() {
      const lines = yield* Effect.gen(function*() {
        yield* Effect.logDebug("hidden").pipe(Logger.withMinimumLogLevel(LogLevel.Debug))
        return yield* RedactingLogger.capturedLines
      }).pipe(Effect.provide(loggerLayer({})))
      expect(lines.length).toBe(0)
    }))

  it("L1: logfmt and pretty output are redacted too", () => {
    for (const format of ["logfmt", "pretty"] as const) {
      const sink = RedactingLogger.memory()
      const program = Effect.logError(`card ${VISA}`, { securitycode: CVV }).pipe(
        Effect.annotateLogs("password", PASSWORD),
        Effect.withLogSpan(`span ${MC}`)
      )
      Effect.runSync(program.pipe(
        Effect.provide(
          RedactingLogger.layerWith({ sink, format }).pipe(Layer.provide(ConnectionConfig.layer({ url: TEST_HOST })))
        )
      ))
      expect(sink.lines.length).toBe(1)
      expectClean(sink.lines)
      expect(sink.lines[0].includes("411111******1111")).toBe(true)
      expect(sink.lines[0].includes("<redacted>")).toBe(true)
    }
  })

  it("L1: panMask last4 is honoured", () => {
    const sink = RedactingLogger.memory()
    Effect.runSync(
      Effect.log(`card ${VISA}`).pipe(
        Effect.provide(
          RedactingLogger.layerWith({ sink }).pipe(
            Layer.provide(ConnectionConfig.layer({ url: TEST_HOST, panMask: "last4" }))
          )
        )
      )
    )
    expect(JSON.parse(sink.lines[0]).message).toBe("card ************1111")
  })

  it("L1: the logger can be used directly, with a custom sink", () => {
    const sink = RedactingLogger.memory()
    const logger = RedactingLogger.logger({ sink, format: "logfmt" })
    Effect.runSync(Effect.log("pay", { pan: VISA }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger))))
    expect(sink.lines.length).toBe(1)
    expectClean(sink.lines)
  })
})

describe("RedactingLogger: installed more than once (E1)", () => {
  const withSink = (sink: RedactingLogger.Sink, input: ConnectionConfig.ConnectionSettingsInput) =>
    RedactingLogger.layerWith({ sink }).pipe(Layer.provide(ConnectionConfig.layer(input)))
  const events = Effect.gen(function*() {
    yield* Effect.log("event one")
    yield* Effect.logWarning(`event two ${VISA}`)
  })
  const messages = (sink: RedactingLogger.MemorySink) => sink.lines.map((l) => JSON.parse(l).message)

  it("two installs built side by side, one sink: one line per event", () => {
    const sink = RedactingLogger.memory()
    const app = Layer.mergeAll(withSink(sink, { url: TEST_HOST }), withSink(sink, { url: TEST_HOST, maxRetries: 1 }))
    Effect.runSync(events.pipe(Effect.provide(app)))
    expect(messages(sink)).toEqual(["event one", "event two 411111******1111"])
  })

  it("two installs one inside the other, one sink: one line per event", () => {
    const sink = RedactingLogger.memory()
    Effect.runSync(events.pipe(
      Effect.provide(withSink(sink, { url: TEST_HOST })),
      Effect.provide(withSink(sink, { url: TEST_HOST, maxRetries: 1 }))
    ))
    expect(messages(sink)).toEqual(["event one", "event two 411111******1111"])
  })

  it("nested installs with different masks: the strictest holds (the inner one is not taken for an app logger)", () => {
    const sink = RedactingLogger.memory()
    Effect.runSync(
      Effect.log(`card ${VISA}`).pipe(
        Effect.provide(withSink(sink, { url: TEST_HOST, panMask: "last4" })),
        Effect.provide(withSink(sink, { url: TEST_HOST }))
      )
    )
    expect(messages(sink)).toEqual(["card ************1111"])
  })

  it("nested installs to stderr: the inner one is not taken for an app logger (its level applies)", () => {
    const stderrLayer = (input: ConnectionConfig.ConnectionSettingsInput) =>
      RedactingLogger.layer.pipe(Layer.provide(ConnectionConfig.layer(input)))
    const level = Effect.runSync(
      FiberRef.get(FiberRef.currentMinimumLogLevel).pipe(
        Effect.provide(stderrLayer({ url: TEST_HOST, logLevel: "debug" })),
        Effect.provide(stderrLayer({ url: TEST_HOST }))
      )
    )
    expect(level).toBe(LogLevel.Debug)
  })

  it("installs writing to two sinks: each sink gets each line once; an app logger beside them once, as written", () => {
    const first = RedactingLogger.memory()
    const second = RedactingLogger.memory()
    const appLines: Array<unknown> = []
    const appLogger = Logger.make(({ message }) => {
      appLines.push(message)
    })
    const app = Layer.mergeAll(withSink(first, { url: TEST_HOST }), withSink(second, { url: TEST_HOST })).pipe(
      Layer.provide(Logger.add(appLogger))
    )
    Effect.runSync(events.pipe(Effect.provide(app)))
    expect(messages(first)).toEqual(["event one", "event two 411111******1111"])
    expect(messages(second)).toEqual(messages(first))
    // the app's own logger is the app's: not wrapped (E2)
    expect(appLines).toEqual([["event one"], [`event two ${VISA}`]])
  })

  it("L1/L3 on a shared sink: the strictest mask and the live host's Info floor hold for both", () => {
    const sink = RedactingLogger.memory()
    const app = Layer.mergeAll(
      withSink(sink, { url: TEST_HOST, logLevel: "debug", panMask: "last4" }),
      withSink(sink, {}) // the live gateway at Info
    )
    Effect.runSync(
      Effect.gen(function*() {
        yield* Effect.logDebug("hidden")
        yield* Effect.log(`card ${VISA}`)
      }).pipe(Logger.withMinimumLogLevel(LogLevel.Debug), Effect.provide(app))
    )
    expect(messages(sink)).toEqual(["card ************1111"])
  })
})

describe("RedactingLogger: an app's own logger and tracer (E2)", () => {
  const appLogger = (lines: Array<string>) =>
    Logger.make(({ annotations, message }) => {
      lines.push(JSON.stringify({ message, annotations: [...annotations] }))
    })

  it.effect("the library's layer leaves an app's logger, tracer and minimum level as they are", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = appLogger(lines)
      const recorded: Recorded = { names: [], attributes: [], events: [] }
      const tracer = recordingTracer(recorded)
      const seen = yield* Effect.gen(function*() {
        yield* Effect.log("app line at Info")
        yield* Effect.logWarning(`app line ${VISA}`)
        return {
          loggers: yield* FiberRef.get(FiberRef.currentLoggers),
          tracer: yield* Effect.tracer,
          level: yield* FiberRef.get(FiberRef.currentMinimumLogLevel)
        }
      }).pipe(
        Effect.withSpan(`app span ${VISA}`),
        Effect.provide(RedactingLogger.layer.pipe(Layer.provide(ConnectionConfig.layer({ url: TEST_HOST })))),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Effect.provide(Logger.minimumLogLevel(LogLevel.Warning)),
        Effect.withTracer(tracer)
      )
      expect(HashSet.has(seen.loggers, logger)).toBe(true)
      expect(HashSet.size(seen.loggers)).toBe(2) // the app's logger and Effect's span-event logger, both unwrapped
      expect(HashSet.has(seen.loggers, Logger.tracerLogger)).toBe(true)
      expect(seen.tracer).toBe(tracer)
      expect(seen.level).toBe(LogLevel.Warning)
      // the app's Info line is below its own minimum level; its own lines and span are as it wrote them
      expect(lines.length).toBe(1)
      expect(lines[0]).toContain(`app line ${VISA}`)
      expect(recorded.names).toEqual([`app span ${VISA}`])
    }))

  it.effect("layerAround: the app's own lines holding a PAN come out masked, once, in either order", () =>
    Effect.gen(function*() {
      const library = RedactingLogger.layer.pipe(Layer.provide(ConnectionConfig.layer({ url: TEST_HOST })))
      const program = Effect.logWarning(`paid with ${VISA}`).pipe(
        Effect.annotateLogs({ cardnumber: MC, password: PASSWORD, note: `amex ${AMEX}` })
      )
      for (const order of ["around-outside", "around-inside"] as const) {
        const lines: Array<string> = []
        const around = RedactingLogger.layerAround(appLogger(lines), { panMask: "last4" })
        yield* order === "around-outside"
          ? program.pipe(Effect.provide(library), Effect.provide(around))
          : program.pipe(Effect.provide(around), Effect.provide(library))
        expect(lines.length, order).toBe(1)
        expect(lines[0]).toContain("paid with ************1111")
        expect(lines[0]).toContain("************4444")
        expectClean(lines)
      }
    }))

  it.effect("layerTracer: the app's own span names, attributes and events are masked before its tracer", () =>
    Effect.gen(function*() {
      const recorded: Recorded = { names: [], attributes: [], events: [] }
      yield* Effect.log(`inside ${VISA}`).pipe(
        Effect.zipRight(Effect.annotateCurrentSpan("note", `card ${MC}`)),
        Effect.withSpan(`pay ${VISA}`, { attributes: { pan: AMEX, authorization: `Basic ${BASIC}` } }),
        Effect.provide(RedactingLogger.layerTracer()),
        Effect.withTracer(recordingTracer(recorded)),
        Effect.locally(FiberRef.currentLoggers, HashSet.make(Logger.tracerLogger))
      )
      expect(recorded.names).toEqual(["pay 411111******1111"])
      expect(recorded.events.map((e) => e.name)).toEqual(["inside 411111******1111"])
      expectClean([JSON.stringify(recorded)])
    }))
})
