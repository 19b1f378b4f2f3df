// The value walker: objects, arrays, errors, bytes and URLs redacted by field name and content, bounded.
import * as Redacted from "effect/Redacted"
import type { Options, RedactedErrorFields } from "../../Redact.js"
import { classifyField } from "./fields.js"
import { CIRCULAR_MARKER, DEPTH_MARKER, REDACTED, SIZE_MARKER } from "./markers.js"
import { digitAt, maskDigits, separatorAt } from "./pan.js"
import { string } from "./text.js"

// -----------------------------------------------------------------------------
// values
// -----------------------------------------------------------------------------

interface Walk {
  readonly options: Options
  readonly last4: boolean
  readonly maxDepth: number
  readonly maxStringLength: number
  readonly maxEntries: number
  nodes: number
  readonly ancestors: Set<object>
}

const makeWalk = (options: Options | undefined): Walk => ({
  options: options ?? {},
  last4: options?.panMask === "last4",
  maxDepth: options?.maxDepth ?? 10,
  maxStringLength: options?.maxStringLength ?? 32_768,
  maxEntries: options?.maxEntries ?? 1_000,
  nodes: options?.maxNodes ?? 10_000,
  ancestors: new Set()
})

const optionsOf = (w: Walk): Options => w.options

const MASK_CHARS = /^[*#\u2022%\\]$/

/**
 * `s` less a trailing group of digits, separators and masks, so that a cut never ends inside a card
 * number (its first digits would stay unmasked). A loop from the end, not a regex, to stay linear.
 */
const dropTrailingDigitGroup = (s: string): string => {
  let i = s.length
  while (i > 0) {
    const c = s.charCodeAt(i - 1)
    if (c >= 48 && c <= 57) {
      i--
      continue
    }
    if (separatorAt(s, i - 1) > 0 || MASK_CHARS.test(s[i - 1])) {
      i--
      continue
    }
    if (c >= 0xdc00 && c <= 0xdfff && i >= 2 && digitAt(s, i - 2) >= 0) {
      i -= 2
      continue
    }
    if (c >= 0x660 && digitAt(s, i - 1) >= 0) {
      i--
      continue
    }
    break
  }
  return s.slice(0, i)
}

const cut = (s: string, max: number): string => {
  if (s.length <= max) return s
  // Never cut inside a digit group: the first digits of a card number would stay unmasked.
  const head = dropTrailingDigitGroup(s.slice(0, max))
  return `${head}…[+${s.length - head.length} chars]`
}

const walkString = (s: string, w: Walk): string => {
  const r = string(s, optionsOf(w))
  return r.length > w.maxStringLength ? string(cut(r, w.maxStringLength), optionsOf(w)) : r
}

export const truncate = (s: string, maxLength: number, options?: Options): string => {
  const r = string(s, options)
  return r.length > maxLength ? string(cut(r, Math.max(0, maxLength)), options) : r
}

// Field names that needed no redaction, so that the keys of every log line cost a Set lookup. Bounded.
const cleanKeys = new Set<string>()

const keyText = (key: string, w: Walk): string => {
  // a key clean of card data may still hold a known secret: such a key skips the cache
  const secrets = w.options.secrets
  if (secrets !== undefined && secrets.some((s) => s.length > 0 && key.includes(s))) return walkString(key, w)
  if (cleanKeys.has(key)) return key
  const r = walkString(key, w)
  if (r === key && key.length <= 128) {
    if (cleanKeys.size >= 4096) cleanKeys.clear()
    cleanKeys.add(key)
  }
  return r
}

const maskField = (u: unknown, w: Walk, depth: number): unknown => {
  if (typeof u === "string") return maskDigits(u, w.last4)
  if (typeof u === "number" || typeof u === "bigint") return maskDigits(String(u), w.last4)
  return walk(u, w, depth)
}

const field = (key: string, u: unknown, w: Walk, depth: number): unknown => {
  const kind = classifyField(key)
  if (kind === "remove") return u === undefined ? undefined : REDACTED
  if (kind === "mask") return maskField(u, w, depth)
  return walk(u, w, depth)
}

const spanSymbol = Symbol.for("effect/SpanAnnotation")

export const safeGet = (o: object, key: PropertyKey): unknown => {
  try {
    return (o as Record<PropertyKey, unknown>)[key]
  } catch {
    return "[Unreadable]"
  }
}

const errorFields = (e: Error, w: Walk, depth: number): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  out.name = walkString(String(safeGet(e, "name")), w)
  out.message = walkString(String(safeGet(e, "message")), w)
  let keys: Array<string>
  try {
    keys = Object.keys(e)
  } catch {
    keys = []
  }
  for (const key of keys) {
    if (key === "name" || key === "message" || key === "stack" || key === "cause") continue
    out[keyText(key, w)] = field(key, safeGet(e, key), w, depth + 1)
  }
  return out
}

const walkError = (e: Error, w: Walk, depth: number): unknown => {
  const out = errorFields(e, w, depth)
  const stack = safeGet(e, "stack")
  if (typeof stack === "string") out.stack = walkString(stack, w)
  const cause = safeGet(e, "cause")
  if (cause !== undefined) out.cause = walk(cause, w, depth + 1)
  return out
}

const walkObject = (o: object, w: Walk, depth: number): unknown => {
  if (o instanceof Date) return Number.isNaN(o.getTime()) ? "Invalid Date" : o.toISOString()
  if (o instanceof URL) return url(o, optionsOf(w))
  if (o instanceof Uint8Array) return bytes(o, optionsOf(w))
  if (o instanceof Error) return walkError(o, w, depth)
  if (Array.isArray(o)) {
    const n = Math.min(o.length, w.maxEntries)
    const out: Array<unknown> = new Array(n)
    for (let i = 0; i < n; i++) out[i] = walk(o[i], w, depth + 1)
    if (o.length > n) out.push(`[+${o.length - n} more]`)
    return out
  }
  if (o instanceof Map) {
    const entries: Array<unknown> = []
    for (const [k, v] of o) {
      if (entries.length >= w.maxEntries) {
        entries.push(`[+${o.size - w.maxEntries} more]`)
        break
      }
      entries.push(
        typeof k === "string" ? [walkString(k, w), field(k, v, w, depth + 1)] : [
          walk(k, w, depth + 1),
          walk(v, w, depth + 1)
        ]
      )
    }
    return { _id: "Map", entries }
  }
  if (o instanceof Set) {
    const values: Array<unknown> = []
    for (const v of o) {
      if (values.length >= w.maxEntries) {
        values.push(`[+${o.size - w.maxEntries} more]`)
        break
      }
      values.push(walk(v, w, depth + 1))
    }
    return { _id: "Set", values }
  }
  const toJSON = safeGet(o, "toJSON")
  if (typeof toJSON === "function" && Object.getPrototypeOf(o) !== Object.prototype) {
    let json: unknown
    try {
      json = toJSON.call(o)
    } catch {
      return "[Unserializable]"
    }
    return json === o ? walkPlain(o, w, depth) : walk(json, w, depth)
  }
  return walkPlain(o, w, depth)
}

const walkPlain = (o: object, w: Walk, depth: number): unknown => {
  const out: Record<string, unknown> = {}
  let count = 0
  let keys: Array<string>
  try {
    keys = Object.keys(o)
  } catch {
    return "[Unreadable]"
  }
  for (const key of keys) {
    if (count++ >= w.maxEntries) {
      out["…"] = `[+${keys.length - w.maxEntries} more]`
      break
    }
    out[keyText(key, w)] = field(key, safeGet(o, key), w, depth + 1)
  }
  return out
}

const walk = (u: unknown, w: Walk, depth: number): unknown => {
  switch (typeof u) {
    case "string":
      return walkString(u, w)
    case "number":
      return u >= 1e12 || u <= -1e12 ? numberish(u, String(u), w) : u
    case "bigint":
      return walkString(String(u), w)
    case "boolean":
    case "undefined":
      return u
    case "symbol":
      return walkString(String(u), w)
    case "function":
      return `[Function${u.name ? ` ${walkString(u.name, w)}` : ""}]`
  }
  if (u === null) return null
  const o = u as object
  if (Redacted.isRedacted(o)) return REDACTED
  if (w.nodes-- <= 0) return SIZE_MARKER
  if (depth > w.maxDepth) return DEPTH_MARKER
  if (w.ancestors.has(o)) return CIRCULAR_MARKER
  w.ancestors.add(o)
  try {
    return walkObject(o, w, depth)
  } finally {
    w.ancestors.delete(o)
  }
}

const numberish = (u: number, text: string, w: Walk): unknown => {
  const r = string(text, optionsOf(w))
  return r === text ? u : r
}

export const value = (u: unknown, options?: Options): unknown => {
  if (typeof u === "string" && u.length <= (options?.maxStringLength ?? 32_768)) return string(u, options)
  return walk(u, makeWalk(options), 0)
}

export const fieldValue = (name: string, u: unknown, options?: Options): unknown => {
  const kind = classifyField(name)
  if (kind === "keep") {
    if (typeof u === "string" && u.length <= (options?.maxStringLength ?? 32_768)) return string(u, options)
    if (typeof u === "number" && u < 1e12 && u > -1e12) return u
    if (typeof u === "boolean" || u === undefined || u === null) return u
  }
  return field(name, u, makeWalk(options), 0)
}

const toErrorInstance = (e: unknown, w: Walk, depth: number): Error => {
  const out = Object.create(Error.prototype) as Error & Record<PropertyKey, unknown>
  const define = (key: PropertyKey, v: unknown, enumerable: boolean) =>
    Object.defineProperty(out, key, { value: v, writable: true, configurable: true, enumerable })
  if (!(e instanceof Error)) {
    const message = typeof e === "string" ? walkString(e, w) : JSON.stringify(walk(e, w, depth)) ?? String(e)
    define("message", message, false)
    define("name", "Error", false)
    define("stack", `Error: ${message}`, false)
    return out
  }
  if (w.ancestors.has(e) || depth > w.maxDepth) {
    define("message", w.ancestors.has(e) ? CIRCULAR_MARKER : DEPTH_MARKER, false)
    define("name", "Error", false)
    define("stack", `Error: ${out.message}`, false)
    return out
  }
  w.ancestors.add(e)
  try {
    const fields = errorFields(e, w, depth)
    for (const key of Object.keys(fields)) {
      define(key, fields[key], key !== "name" && key !== "message")
    }
    const stack = safeGet(e, "stack")
    define("stack", typeof stack === "string" ? walkString(stack, w) : `${fields.name}: ${fields.message}`, false)
    const cause = safeGet(e, "cause")
    if (cause !== undefined) {
      define("cause", cause instanceof Error ? toErrorInstance(cause, w, depth + 1) : walk(cause, w, depth + 1), false)
    }
    // Keep the span an Effect failure was raised in, so that a printed Cause still shows where.
    const span = safeGet(e, spanSymbol)
    if (span !== undefined) define(spanSymbol, span, false)
    return out
  } finally {
    w.ancestors.delete(e)
  }
}

export const error = (e: unknown, options?: Options): Error => toErrorInstance(e, makeWalk(options), 0)

export const errorFieldsOf = (e: Error, options?: Options): RedactedErrorFields =>
  walkError(e, makeWalk(options), 0) as RedactedErrorFields

export const bytes = (buf: Uint8Array, options?: Options): string => {
  const max = options?.maxStringLength ?? 32_768
  const view = buf.length > max ? buf.subarray(0, max) : buf
  const text = string(new TextDecoder("utf-8").decode(view), options)
  if (buf.length <= max) return text
  // The cut may split a card number: drop a trailing digit group rather than show its first digits.
  return `${dropTrailingDigitGroup(text)}…[+${buf.length - max} bytes]`
}

const safeDecode = (s: string): string => {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "))
  } catch {
    return s
  }
}

export const url = (u: string | URL, options?: Options): string => {
  let parsed: URL
  try {
    parsed = typeof u === "string" ? new URL(u) : u
  } catch {
    return string(String(u), options)
  }
  const last4 = options?.panMask === "last4"
  const auth = parsed.username !== "" || parsed.password !== ""
    ? `${string(parsed.username, options)}${parsed.password !== "" ? `:${REDACTED}` : ""}@`
    : ""
  const path = string(parsed.pathname, options)
  let query = ""
  if (parsed.search.length > 1) {
    const pairs = parsed.search.slice(1).split("&")
    const out: Array<string> = []
    for (const pair of pairs) {
      const eq = pair.indexOf("=")
      if (eq < 0) {
        out.push(string(pair, options))
        continue
      }
      const key = pair.slice(0, eq)
      const v = pair.slice(eq + 1)
      const kind = classifyField(safeDecode(key))
      const shown = kind === "remove"
        ? REDACTED
        : kind === "mask"
        ? maskDigits(safeDecode(v), last4)
        : string(v, options)
      out.push(`${string(key, options)}=${shown}`)
    }
    query = `?${out.join("&")}`
  }
  const hash = string(parsed.hash, options)
  return `${parsed.protocol}//${auth}${parsed.host}${path}${query}${hash}`
}
