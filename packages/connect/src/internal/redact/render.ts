// Rendering of one log line by the redacting logger: json, logfmt or pretty. Everything rendered has
// passed through Redact: message parts, annotation names and values, span labels, the Cause.
import * as FiberId from "effect/FiberId"
import type * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import type { LogFormat } from "../../ConnectionConfig.js"
import * as Redact from "../../Redact.js"

const toMessages = (message: unknown): ReadonlyArray<unknown> => Array.isArray(message) ? message : [message]

export const redactMessagePart = (u: unknown, options: Redact.Options): unknown =>
  typeof u === "string" ? Redact.string(u, options) : Redact.value(u, options)

const renderValue = (u: unknown): string => {
  if (typeof u === "string") return u
  const json = JSON.stringify(u)
  return json === undefined ? String(u) : json
}

const TEXT_ONLY = /^[^\s"=]*$/

const logfmtValue = (s: string): string => TEXT_ONLY.test(s) ? s : JSON.stringify(s)

const logfmtLabel = (label: string): string => label.replace(/[\s="]/g, "_")

const COLORS: Record<LogLevel.LogLevel["_tag"], string> = {
  None: "",
  All: "",
  Trace: "\x1b[90m",
  Debug: "\x1b[34m",
  Info: "\x1b[32m",
  Warning: "\x1b[33m",
  Error: "\x1b[31m",
  Fatal: "\x1b[101;30m"
}

/** One line (no trailing newline), redacted, in `format`. */
export const render = (
  { annotations, cause, date, fiberId, logLevel, message, spans }: Logger.Logger.Options<unknown>,
  format: LogFormat,
  options: Redact.Options,
  colors: boolean
): string => {
  const parts = toMessages(message)
  const causeText = cause._tag === "Empty" ? undefined : Redact.prettyCause(cause, options)
  const now = date.getTime()
  if (format === "json") {
    const annotationsObj: Record<string, unknown> = {}
    for (const [key, value] of annotations) {
      annotationsObj[Redact.string(key, options)] = Redact.fieldValue(key, value, options)
    }
    const spansObj: Record<string, number> = {}
    for (const span of spans) {
      spansObj[Redact.string(span.label, options)] = now - span.startTime
    }
    return JSON.stringify({
      message: parts.length === 1
        ? redactMessagePart(parts[0], options)
        : parts.map((p) => redactMessagePart(p, options)),
      logLevel: logLevel.label,
      timestamp: date.toISOString(),
      cause: causeText,
      annotations: annotationsObj,
      spans: spansObj,
      fiberId: FiberId.threadName(fiberId)
    })
  }
  if (format === "logfmt") {
    let out = `timestamp=${date.toISOString()} level=${logLevel.label} fiber=${FiberId.threadName(fiberId)}`
    for (const part of parts) out += ` message=${logfmtValue(renderValue(redactMessagePart(part, options)))}`
    if (causeText !== undefined) out += ` cause=${logfmtValue(causeText)}`
    for (const span of spans) {
      out += ` ${logfmtLabel(Redact.string(span.label, options))}=${now - span.startTime}ms`
    }
    for (const [key, value] of annotations) {
      out += ` ${logfmtLabel(Redact.string(key, options))}=${
        logfmtValue(renderValue(Redact.fieldValue(key, value, options)))
      }`
    }
    return out
  }
  // pretty
  const reset = colors ? "\x1b[0m" : ""
  let first = `[${date.toISOString()}] ${colors ? COLORS[logLevel._tag] : ""}${logLevel.label}${reset} (${
    FiberId.threadName(fiberId)
  })`
  for (const span of spans) first += ` ${Redact.string(span.label, options)}=${now - span.startTime}ms`
  first += ":"
  let index = 0
  if (parts.length > 0 && typeof parts[0] === "string") {
    first += ` ${Redact.string(parts[0], options)}`
    index = 1
  }
  const lines = [first]
  for (; index < parts.length; index++) lines.push(`  ${renderValue(redactMessagePart(parts[index], options))}`)
  for (const [key, value] of annotations) {
    lines.push(`  ${Redact.string(key, options)}: ${renderValue(Redact.fieldValue(key, value, options))}`)
  }
  if (causeText !== undefined) lines.push(causeText.replace(/^/gm, "  "))
  return lines.join("\n")
}
