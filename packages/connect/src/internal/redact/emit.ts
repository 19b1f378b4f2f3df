// The library's emission points (E2): every message, log annotation and span attribute the library
// writes is redacted here, before it leaves the library, so it holds under any logger or tracer
// the app installs (nothing downstream has to wrap them).
import * as Effect from "effect/Effect"
import type * as LogLevel from "effect/LogLevel"
import type * as Tracer from "effect/Tracer"
import type { PanMask } from "../../ConnectionConfig.js"
import * as Redact from "../../Redact.js"

/** The `Redact` options for a configured PAN mask (the default mask needs none). */
export const optionsOf = (panMask: PanMask | undefined): Redact.Options => panMask === "last4" ? LAST4 : DEFAULT

const LAST4: Redact.Options = { panMask: "last4" }
const DEFAULT: Redact.Options = {}

/** A log line at `level`: message and annotations redacted (built only when it runs). */
export const log = (
  level: LogLevel.LogLevel,
  message: string,
  annotations: Readonly<Record<string, unknown>> | undefined,
  options: Redact.Options
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const line = Effect.logWithLevel(level, Redact.string(message, options))
    return annotations === undefined ? line : Effect.annotateLogs(line, Redact.annotations(annotations, options))
  })

/** `Effect.withSpan` with the name and attributes redacted, no call-site stack (it would be ours). */
export const withSpan = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  name: string,
  record: Readonly<Record<string, unknown>>,
  options: Redact.Options
): Effect.Effect<A, E, R> =>
  Effect.withSpan(effect, Redact.string(name, options), {
    attributes: Redact.annotations(record, options),
    captureStackTrace: false
  })

/** `Effect.annotateCurrentSpan`, redacted. */
export const annotateCurrentSpan = (
  record: Readonly<Record<string, unknown>>,
  options: Redact.Options
): Effect.Effect<void> => Effect.suspend(() => Effect.annotateCurrentSpan(Redact.annotations(record, options)))

/** One attribute on a span the library holds, redacted. */
export const spanAttribute = (span: Tracer.Span, key: string, value: unknown, options: Redact.Options): void =>
  span.attribute(Redact.string(key, options), Redact.fieldValue(key, value, options))
