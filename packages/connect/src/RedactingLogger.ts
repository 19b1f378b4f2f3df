/**
 * The logger layer (L1–L3). What the library itself writes (messages, log annotations, span names
 * and attributes, errors) is redacted at the source, so it is safe under any logger or tracer. For
 * an app that installs no logger, the library's layers replace Effect's default logger with one
 * that redacts every message, annotation, span label and printed `Cause` before a byte is written,
 * and set `STPP_LOG_LEVEL`; an app's own loggers, tracer and minimum level are left alone. An app
 * redacts its own lines and spans by asking: {@link layerAround} (its logger, wrapped) and
 * {@link layerTracer} (its tracer, wrapped).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import { globalValue } from "effect/GlobalValue"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"
import * as Layer from "effect/Layer"
import * as List from "effect/List"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as LogSpan from "effect/LogSpan"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import type { LogFormat, LogLevelName, PanMask } from "./ConnectionConfig.js"
import { ConnectionConfig, isLiveGatewayHost } from "./ConnectionConfig.js"
import * as Emit from "./internal/redact/emit.js"
import * as Render from "./internal/redact/render.js"
import * as internalTracer from "./internal/redact/tracer.js"
import * as Redact from "./Redact.js"

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/**
 * Debug (or finer) logging was asked for against a live gateway host without
 * `STPP_ALLOW_LIVE_DEBUG=true` (L3).
 *
 * @since 0.1.0
 * @category errors
 */
export class LiveDebugRefused extends Schema.TaggedError<LiveDebugRefused>()("LiveDebugRefused", {
  host: Schema.String,
  level: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  get message(): string {
    return `STPP_LOG_LEVEL=${this.level} is refused against the live gateway ${this.host}: ` +
      `set STPP_ALLOW_LIVE_DEBUG=true to allow it (output stays redacted), or use STPP_LOG_LEVEL=info`
  }
}

// -----------------------------------------------------------------------------
// sinks
// -----------------------------------------------------------------------------

/**
 * Where rendered, redacted lines go. A line carries no trailing newline.
 *
 * @since 0.1.0
 * @category models
 */
export interface Sink {
  readonly write: (line: string) => void
}

/**
 * Standard error, one line each (the default: standard output is left to the application).
 *
 * @since 0.1.0
 * @category sinks
 */
export const stderr: Sink = {
  write: (line) => {
    process.stderr.write(line + "\n")
  }
}

/**
 * A sink that keeps lines in memory, for tests.
 *
 * @since 0.1.0
 * @category sinks
 */
export interface MemorySink extends Sink {
  readonly lines: ReadonlyArray<string>
  readonly clear: () => void
}

/**
 * @since 0.1.0
 * @category sinks
 */
export const memory = (): MemorySink => {
  const lines: Array<string> = []
  return {
    lines,
    write: (line) => {
      lines.push(line)
    },
    clear: () => {
      lines.length = 0
    }
  }
}

// -----------------------------------------------------------------------------
// the logger
// -----------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `json` lines (the default), `logfmt` or `pretty`. */
  readonly format?: LogFormat | undefined
  /** Where lines go; standard error by default. */
  readonly sink?: Sink | undefined
  /** How card numbers are masked. */
  readonly panMask?: PanMask | undefined
  /**
   * A floor under the fiber's minimum level: lines below it are dropped even inside
   * `Logger.withMinimumLogLevel` (the layer sets Info against a live host without the allow setting).
   */
  readonly floor?: LogLevel.LogLevel | undefined
  /** ANSI colours in `pretty` (default false). */
  readonly colors?: boolean | undefined
}

const ownLoggers = new WeakSet<object>()
const wrappedLoggers = new WeakSet<object>()
const wrappers = new WeakMap<object, Map<string, Logger.Logger<unknown, unknown>>>()

const redactOptionsOf = (panMask: PanMask | undefined): Redact.Options =>
  panMask === "last4" ? { panMask: "last4" } : {}

/**
 * The redacting logger itself: renders in the chosen format and writes to the sink. Everything it
 * writes has passed through `Redact`: the message parts, annotation names and values, span labels
 * and the rendered `Cause` with its error causes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const logger = (options: Options = {}): Logger.Logger<unknown, void> => {
  const sink = options.sink ?? stderr
  const format = options.format ?? "json"
  const floor = options.floor
  const redactOptions = redactOptionsOf(options.panMask)
  const colors = options.colors === true

  const self = Logger.make<unknown, void>((input) => {
    if (floor !== undefined && LogLevel.lessThan(input.logLevel, floor)) return
    sink.write(Render.render(input, format, redactOptions, colors))
  })
  ownLoggers.add(self)
  return self
}

/**
 * The options a logger receives, redacted: message parts, annotations (by name and content), span
 * labels and the `Cause`.
 *
 * @since 0.1.0
 * @category redaction
 */
export const redactInput = <M>(
  input: Logger.Logger.Options<M>,
  options: Redact.Options = {}
): Logger.Logger.Options<unknown> => {
  const message = Array.isArray(input.message)
    ? input.message.map((p: unknown) =>
      p instanceof Error ? Redact.error(p, options) : Render.redactMessagePart(p, options)
    )
    : input.message instanceof Error
    ? Redact.error(input.message, options)
    : Render.redactMessagePart(input.message, options)
  let annotations = input.annotations
  if (HashMap.size(annotations) > 0) {
    annotations = HashMap.empty()
    for (const [key, value] of input.annotations) {
      annotations = HashMap.set(annotations, Redact.string(key, options), Redact.fieldValue(key, value, options))
    }
  }
  const spans = List.isCons(input.spans)
    ? List.map(input.spans, (span) => LogSpan.make(Redact.string(span.label, options), span.startTime))
    : input.spans
  return {
    ...input,
    message,
    annotations,
    spans,
    cause: input.cause._tag === "Empty" ? input.cause : Redact.cause(input.cause, options)
  }
}

/**
 * Wraps any logger so that everything it receives has been redacted first (the same as
 * {@link wrap}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const redacting = <O>(
  self: Logger.Logger<unknown, O>,
  options: Redact.Options = {}
): Logger.Logger<unknown, O> => {
  if (ownLoggers.has(self) || wrappedLoggers.has(self)) return self
  // One wrapper per logger and mask, so two installs side by side wrap an app's logger once (E1).
  const key = JSON.stringify([
    options.panMask ?? "first6last4",
    options.maxDepth,
    options.maxStringLength,
    options.maxEntries,
    options.maxNodes
  ])
  let byMask = wrappers.get(self)
  if (byMask === undefined) {
    byMask = new Map()
    wrappers.set(self, byMask)
  }
  const known = byMask.get(key)
  if (known !== undefined) return known as Logger.Logger<unknown, O>
  const wrapped = Logger.mapInputOptions(self, (input: Logger.Logger.Options<unknown>) => redactInput(input, options))
  wrappedLoggers.add(wrapped)
  byMask.set(key, wrapped)
  return wrapped
}

/**
 * An app's logger that redacts its input: every message part, annotation, span label and `Cause`
 * it receives has passed through `Redact` first. The library leaves an app's loggers alone; this
 * (or {@link layerAround}) is how an app redacts its own lines.
 *
 * @example
 * ```ts
 * import { RedactingLogger } from "@stpp/connect"
 * import * as Effect from "effect/Effect"
 * import * as Logger from "effect/Logger"
 *
 * const lines: Array<unknown> = []
 * const appLogger = Logger.make(({ message }) => {
 *   lines.push(message)
 * })
 * Effect.runSync(
 *   Effect.log("card 4111111111111111").pipe(
 *     Effect.provide(Logger.replace(Logger.defaultLogger, RedactingLogger.wrap(appLogger)))
 *   )
 * )
 * assert.deepStrictEqual(lines, [["card 411111******1111"]])
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const wrap = <O>(self: Logger.Logger<unknown, O>, options: Redact.Options = {}): Logger.Logger<unknown, O> =>
  redacting(self, options)

// -----------------------------------------------------------------------------
// the tracer
// -----------------------------------------------------------------------------

/**
 * Wraps a tracer so that span names, attributes, events and the failure an exporter records are
 * redacted before the tracer (and any exporter behind it) sees them. What the library itself puts
 * into spans is redacted at the source already; this is for the app's own spans (see
 * {@link layerTracer}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const redactingTracer = (inner: Tracer.Tracer, options: Redact.Options = {}): Tracer.Tracer =>
  internalTracer.redactingTracer(inner, options)

/**
 * Whether spans made under `tracer` reach anybody: false for Effect's built-in tracer, which an
 * app has when it installed none (its spans are kept nowhere), also behind redacting wrappers.
 * Code on a hot path may skip making spans nobody can see.
 *
 * @since 0.1.0
 * @category tracing
 */
export const recordsSpans: (tracer: Tracer.Tracer) => boolean = internalTracer.recordsSpans

// -----------------------------------------------------------------------------
// layers
// -----------------------------------------------------------------------------

const LEVELS: Record<LogLevelName, LogLevel.LogLevel> = {
  all: LogLevel.All,
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  none: LogLevel.None
}

/**
 * The `LogLevel` of a setting's name.
 *
 * @since 0.1.0
 * @category models
 */
export const toLogLevel = (name: LogLevelName): LogLevel.LogLevel => LEVELS[name]

/**
 * What the layer writes to and how, beyond the settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface LayerOptions {
  /** Where lines go; standard error by default. */
  readonly sink?: Sink | undefined
  /** Overrides `STPP_LOG_FORMAT`. */
  readonly format?: LogFormat | undefined
  /** ANSI colours in `pretty`. */
  readonly colors?: boolean | undefined
}

// Every install adds its settings to one FiberRef set and the one shared logger below to the
// loggers, so two services in one app (layers built side by side, whose FiberRef patches are
// unioned) print each line once (E1), not once per service.
type Install = {
  readonly sink: Sink
  readonly format: LogFormat
  readonly colors: boolean
  readonly panMask: PanMask
  readonly floor: LogLevel.LogLevel
}

const installs = globalValue(
  Symbol.for("@stpp/connect/RedactingLogger/installs"),
  () => FiberRef.unsafeMakeHashSet(HashSet.empty<Install>())
)

const FORMAT_ORDER: ReadonlyArray<LogFormat> = ["json", "logfmt", "pretty"]

// One logger per sink: the strictest mask and the highest floor of the installs writing there
// (L1, L3), and one format (json before logfmt before pretty) when installs disagree.
const resolveInstalls = (set: HashSet.HashSet<Install>): ReadonlyArray<Logger.Logger<unknown, void>> => {
  const bySink = new Map<Sink, Array<Install>>()
  for (const entry of set) {
    const group = bySink.get(entry.sink)
    if (group === undefined) bySink.set(entry.sink, [entry])
    else group.push(entry)
  }
  const out: Array<Logger.Logger<unknown, void>> = []
  for (const [sink, group] of bySink) {
    const first = group.reduce((a, b) => FORMAT_ORDER.indexOf(b.format) < FORMAT_ORDER.indexOf(a.format) ? b : a)
    out.push(logger({
      sink,
      format: first.format,
      colors: first.colors,
      panMask: group.some((e) => e.panMask === "last4") ? "last4" : "first6last4",
      floor: group.reduce(
        (max, e) => LogLevel.greaterThan(e.floor, max) ? e.floor : max,
        LogLevel.All as LogLevel.LogLevel
      )
    }))
  }
  return out
}

const resolved = new WeakMap<HashSet.HashSet<Install>, ReadonlyArray<Logger.Logger<unknown, void>>>()

const sharedLogger: Logger.Logger<unknown, void> = globalValue(
  Symbol.for("@stpp/connect/RedactingLogger/shared"),
  () =>
    Logger.make<unknown, void>((input) => {
      const set = FiberRefs.getOrDefault(input.context, installs)
      let loggers = resolved.get(set)
      if (loggers === undefined) {
        loggers = resolveInstalls(set)
        resolved.set(set, loggers)
      }
      for (const l of loggers) l.log(input)
    })
)
ownLoggers.add(sharedLogger)

/**
 * Installs the library's logging in the current scope: checks L3 and, where the app installed no
 * logger of its own (or a sink is asked for), replaces Effect's default logger with the redacting
 * one and sets the minimum level; warns when debug is on against a live host. An app's own
 * loggers, its minimum level and its tracer are left alone: the library redacts what it writes at
 * the source (use {@link layerAround} and {@link layerTracer} to redact the app's own lines and
 * spans). Installing it again (a second service in the app) adds no second logger: all installs
 * share one logger that writes each line once per sink, with the strictest mask and level floor
 * among the installs writing there.
 *
 * @since 0.1.0
 * @category constructors
 */
export const install = (
  options: LayerOptions = {}
): Effect.Effect<void, LiveDebugRefused, ConnectionConfig | Scope.Scope> =>
  Effect.gen(function*() {
    const config = yield* ConnectionConfig
    const level = toLogLevel(config.logLevel)
    const host = config.url.hostname
    const live = isLiveGatewayHost(host)
    const verbose = LogLevel.lessThan(level, LogLevel.Info)
    if (live && verbose && !config.allowLiveDebug) {
      return yield* new LiveDebugRefused({ host, level: config.logLevel })
    }
    const redactOptions = redactOptionsOf(config.panMask)
    const entry: Install = Data.struct({
      sink: options.sink ?? stderr,
      format: options.format ?? config.logFormat,
      colors: options.colors === true,
      panMask: config.panMask,
      floor: live && !config.allowLiveDebug ? LogLevel.Info : LogLevel.All
    })
    // The library's own logger and STPP_LOG_LEVEL apply only where the app installed no logger of
    // its own (the set is still Effect's default) or a sink was asked for (E2).
    const appOwned = options.sink === undefined &&
      (yield* FiberRef.get(FiberRef.currentLoggers).pipe(Effect.map(hasAppLogger)))
    if (!appOwned) {
      yield* Effect.locallyScopedWith(installs, HashSet.add(entry))
      yield* Effect.locallyScopedWith(FiberRef.currentLoggers, (loggers) => {
        let next = HashSet.empty<Logger.Logger<unknown, unknown>>()
        for (const l of loggers) {
          // Effect's default logger and earlier redacting loggers give way to the one shared logger;
          // Effect's span-event logger is redacted with it; an app's loggers stay as they are.
          if (l === Logger.defaultLogger || ownLoggers.has(l)) continue
          next = HashSet.add(next, l === Logger.tracerLogger ? spanEventLogger(redactOptions) : l)
        }
        return HashSet.add(next, sharedLogger)
      })
      yield* Effect.locallyScoped(FiberRef.currentMinimumLogLevel, level)
    }
    if (live && verbose) {
      yield* Emit.log(
        LogLevel.Warning,
        `STPP_LOG_LEVEL=${config.logLevel} against the live gateway ${host} (STPP_ALLOW_LIVE_DEBUG=true): ` +
          "debug output is redacted but verbose; turn it off when done",
        undefined,
        redactOptions
      )
    }
  })

// Effect's span-event logger as the library redacts it: Effect's, not an app's logger.
const spanEventLoggers = new WeakSet<object>()
const spanEventLogger = (options: Redact.Options): Logger.Logger<unknown, unknown> => {
  const l = redacting(Logger.tracerLogger, options)
  spanEventLoggers.add(l)
  return l
}

// True when the logger set holds a logger that is not Effect's default pair (the console logger and
// the one that turns log lines into span events) nor one of ours.
const hasAppLogger = (loggers: HashSet.HashSet<Logger.Logger<unknown, unknown>>): boolean => {
  for (const l of loggers) {
    if (l !== Logger.defaultLogger && l !== Logger.tracerLogger && !ownLoggers.has(l) && !spanEventLoggers.has(l)) {
      return true
    }
  }
  return false
}

/**
 * The layer with a chosen sink or format (the CLI writes to standard error; tests to memory).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options: LayerOptions): Layer.Layer<never, LiveDebugRefused, ConnectionConfig> =>
  Layer.scopedDiscard(install(options))

/**
 * Redacting logging from the settings (`STPP_LOG_LEVEL`, `STPP_LOG_FORMAT`,
 * `STPP_ALLOW_LIVE_DEBUG`, `STPP_PAN_MASK`), to standard error.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<never, LiveDebugRefused, ConnectionConfig> = layerWith({})

/**
 * Installs the app's own logger, wrapped so that it redacts what it receives ({@link wrap}), in
 * place of Effect's default logger (and of the library's default redacting logger, so each line is
 * written once). Provide it outside the library's layers, as any app logger: they see an app
 * logger and leave it, and the minimum level, alone, and the library's own lines go to it too.
 *
 * @example
 * ```ts
 * import { RedactingLogger } from "@stpp/connect"
 * import * as Effect from "effect/Effect"
 * import * as Logger from "effect/Logger"
 *
 * const lines: Array<string> = []
 * const appLogger = Logger.make(({ message }) => {
 *   lines.push(String(message))
 * })
 * Effect.runSync(
 *   Effect.log("paid with 4111111111111111").pipe(Effect.provide(RedactingLogger.layerAround(appLogger)))
 * )
 * assert.deepStrictEqual(lines, ["paid with 411111******1111"])
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerAround = <O>(self: Logger.Logger<unknown, O>, options: Redact.Options = {}): Layer.Layer<never> => {
  const wrapped = wrap(self, options)
  return Layer.scopedDiscard(Effect.locallyScopedWith(FiberRef.currentLoggers, (loggers) => {
    let next = HashSet.empty<Logger.Logger<unknown, unknown>>()
    for (const l of loggers) if (l !== Logger.defaultLogger && l !== sharedLogger) next = HashSet.add(next, l)
    return HashSet.add(next, wrapped)
  }))
}

/**
 * Wraps the tracer in place where it is provided ({@link redactingTracer}), so that the app's own
 * span names, attributes, events (its log lines inside spans) and recorded failures are redacted
 * before its exporter sees them. Provide it inside the app's tracer layer (nearer the program).
 * The library's own spans need no wrapping: they are redacted at the source.
 *
 * @example
 * ```ts
 * import { RedactingLogger } from "@stpp/connect"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.void.pipe(Effect.withSpan("pay 4111111111111111"))
 * // the app's tracer layer (e.g. NodeSdk.layer from @effect/opentelemetry) goes outside it
 * const traced = program.pipe(Effect.provide(RedactingLogger.layerTracer()))
 * Effect.runSync(traced)
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTracer = (options: Redact.Options = {}): Layer.Layer<never> =>
  Layer.scopedDiscard(
    Effect.flatMap(Effect.tracer, (tracer) => Effect.withTracerScoped(redactingTracer(tracer, options)))
  )

/**
 * Reads what the test layer captured.
 *
 * @since 0.1.0
 * @category tags
 */
export class TestRedactingLogger extends Context.Tag("@stpp/connect/TestRedactingLogger")<
  TestRedactingLogger,
  {
    /** Every line written so far, redacted, in order. */
    readonly lines: Effect.Effect<ReadonlyArray<string>>
    /** Forgets the lines written so far. */
    readonly clear: Effect.Effect<void>
  }
>() {}

/**
 * The same layer writing to memory; `TestRedactingLogger` reads the lines.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest: Layer.Layer<TestRedactingLogger, LiveDebugRefused, ConnectionConfig> = Layer.scoped(
  TestRedactingLogger,
  Effect.gen(function*() {
    const sink = memory()
    yield* install({ sink })
    return {
      lines: Effect.sync(() => sink.lines.slice()),
      clear: Effect.sync(() => sink.clear())
    }
  })
)

/**
 * The lines captured by {@link layerTest}.
 *
 * @since 0.1.0
 * @category accessors
 */
export const capturedLines: Effect.Effect<ReadonlyArray<string>, never, TestRedactingLogger> = Effect.flatMap(
  TestRedactingLogger,
  (t) => t.lines
)
