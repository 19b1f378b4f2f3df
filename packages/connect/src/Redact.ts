/**
 * Pure redaction of sensitive payment data (L1): card numbers found by content (13–19 digits,
 * alone or grouped by single spaces, dashes or their percent-encodings, passing the Luhn check) are
 * masked; values under sensitive field names (security codes, expiry, PIN, track data, passwords,
 * tokens, `Authorization`, cookies), Basic/Bearer credentials and JWT-shaped tokens are removed.
 *
 * Every function is total: it never throws, never hangs on a cyclic value and bounds the size of
 * what it returns. A string with nothing that could be sensitive is returned as it is, without
 * allocating, because this runs on every log line.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Redacted from "effect/Redacted"
import type { PanMask } from "./ConnectionConfig.js"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** How a card number is masked: first 6 and last 4 digits shown (default), or the last 4 only. */
  readonly panMask?: PanMask | undefined
  /** Nesting below this depth is replaced by {@link DEPTH_MARKER} (default 10). */
  readonly maxDepth?: number | undefined
  /** Longer strings are cut, with a marker saying how much was left out (default 32 768). */
  readonly maxStringLength?: number | undefined
  /** Entries kept per array, object, Map or Set (default 1 000). */
  readonly maxEntries?: number | undefined
  /** Values visited in one call before the rest is replaced by {@link SIZE_MARKER} (default 10 000). */
  readonly maxNodes?: number | undefined
}

/**
 * What a removed value is replaced with.
 *
 * @since 0.1.0
 * @category constants
 */
export const REDACTED = "<redacted>"

/**
 * What stands for a value that refers back to one of its parents.
 *
 * @since 0.1.0
 * @category constants
 */
export const CIRCULAR_MARKER = "[Circular]"

/**
 * What stands for nesting deeper than `maxDepth`.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEPTH_MARKER = "[Truncated: too deep]"

/**
 * What stands for values beyond `maxNodes`.
 *
 * @since 0.1.0
 * @category constants
 */
export const SIZE_MARKER = "[Truncated: too large]"

/**
 * How a field name is treated: `remove` (the value is replaced by {@link REDACTED}), `mask` (the
 * value is a card number and shown masked) or `keep` (the value is redacted by content only).
 *
 * @since 0.1.0
 * @category models
 */
export type FieldKind = "remove" | "mask" | "keep"

// -----------------------------------------------------------------------------
// field names
// -----------------------------------------------------------------------------

const REMOVE_EXACT: ReadonlySet<string> = new Set([
  "pin",
  "pinblock",
  "pass",
  "pwd",
  "passwd",
  "csc",
  "cid",
  "cv2",
  "cvv",
  "cvv2",
  "cvc",
  "cvc2",
  "jwt",
  "token",
  "auth",
  "expiry",
  "expdate",
  "expmonth",
  "expyear",
  "expirationdate",
  "track1",
  "track2",
  "track3",
  "secret",
  "credential",
  "credentials"
])

const REMOVE_CONTAINS: ReadonlyArray<string> = [
  "password",
  "passwd",
  "passphrase",
  "securitycode",
  "cvv",
  "cvc",
  "trackdata",
  "authorization",
  "cookie",
  "secret",
  "expirydate",
  "expirymonth",
  "expiryyear",
  "apikey",
  "privatekey",
  "credential"
]

const REMOVE_SUFFIX: ReadonlyArray<string> = ["token", "pin", "jwt", "cv2", "csc", "expiry", "track1", "track2"]

const MASK_EXACT: ReadonlySet<string> = new Set([
  "pan",
  "cardnumber",
  "cardno",
  "accountnumber",
  "primaryaccountnumber",
  "maskedpan",
  "parentpan"
])

/** Keys whose value, unquoted in text, runs to the end of the line (`Cookie: a=1; b=2`). */
const LINE_VALUE: ReadonlySet<string> = new Set(["authorization", "proxyauthorization", "cookie", "setcookie"])

const classifyNormalized = (k: string): FieldKind => {
  if (MASK_EXACT.has(k)) return "mask"
  if (REMOVE_EXACT.has(k)) return "remove"
  for (let i = 0; i < REMOVE_CONTAINS.length; i++) {
    if (k.includes(REMOVE_CONTAINS[i])) return "remove"
  }
  for (let i = 0; i < REMOVE_SUFFIX.length; i++) {
    if (k.endsWith(REMOVE_SUFFIX[i])) return "remove"
  }
  if (k.endsWith("cardnumber") || k.endsWith("pan") && k.length <= 12) return "mask"
  return "keep"
}

// A memo of field names seen, so that a log line's keys cost a Map lookup each. Bounded.
const fieldCache = new Map<string, FieldKind>()

/**
 * How a field name is treated, ignoring case and separators (`security_code`, `SecurityCode`,
 * `security-code` are one name).
 *
 * @since 0.1.0
 * @category field names
 */
export const classifyField = (name: string): FieldKind => {
  const cached = fieldCache.get(name)
  if (cached !== undefined) return cached
  const kind = classifyNormalized(name.toLowerCase().replace(/[^a-z0-9]/g, ""))
  if (fieldCache.size >= 4096) fieldCache.clear()
  fieldCache.set(name, kind)
  return kind
}

// -----------------------------------------------------------------------------
// strings
// -----------------------------------------------------------------------------

/** Anything that could start a sensitive field name, a credential or a JWT. */
const WORD_HINT =
  /pass|pwd|pin|csc|cv[vc2]|cid|jwt|token|auth|exp|track|cookie|secur|secret|key|credential|pan|card|account|bearer|basic|eyj/i

/** A field name followed by `=` or `:` (JSON, escaped JSON, query strings, headers, logfmt). */
const KEY_SEP = /(?<![A-Za-z0-9_-])([A-Za-z][A-Za-z0-9_-]{0,63})(\\?["']|\]|%5[dD]|%22)?[ \t]*([:=])[ \t]*/g

const VALUE =
  /\\"(?:[^"\\]|\\[^"])*(?:\\"|$)|"(?:[^"\\]|\\.)*(?:"|$)|'[^'\r\n]*(?:'|$)|\[[^[\]]*(?:\]|$)|\{[^{}]*(?:\}|$)|[^\s&;,"'<>{}()[\]\\|]+/y

const LINE_REST = /[^\r\n"\\]+/y

const BASIC = /\b(Basic)([ \t]+)([A-Za-z0-9+/]+={0,2})/gi

const BEARER = /\b(Bearer|Digest|Negotiate)([ \t]+)([A-Za-z0-9\-._~+/]+=*)/gi

const URL_USERINFO = /(\/\/[^/?#@\s:]*):([^/?#@\s]+)@/g

const JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g

const isDigit = (c: number): boolean => c >= 48 && c <= 57

/** Length of a single separator at `i` (space, dash, plus, `%20`, `%2D`, `%2B`), or 0. */
const separatorAt = (s: string, i: number): number => {
  const c = s.charCodeAt(i)
  if (c === 32 || c === 45 || c === 43) return 1
  if (c === 37 && s.charCodeAt(i + 1) === 50) {
    const d = s.charCodeAt(i + 2)
    if (d === 48 || d === 68 || d === 100 || d === 66 || d === 98) return 3
  }
  return 0
}

const luhn = (digits: ReadonlyArray<number>, from: number, to: number): boolean => {
  let sum = 0
  let double = false
  for (let i = to - 1; i >= from; i--) {
    let d = digits[i]
    if (double) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
    double = !double
  }
  return sum % 10 === 0
}

/**
 * Masks every Luhn-valid card number in `s`; `undefined` when there is none. A group of digits
 * joined by single separators is split at its separators into every run of 13 to 19 digits, so a
 * number next to another (`order 12 4111 1111 1111 1111`) is found; a run glued to further digits
 * without a separator is a different number and is left alone.
 */
const maskPans = (s: string, last4: boolean): string | undefined => {
  const n = s.length
  let out: string | undefined
  let copied = 0
  let i = 0
  const chunkStart: Array<number> = []
  const chunkPos: Array<number> = []
  const chunkLen: Array<number> = []
  const digits: Array<number> = []
  while (i < n) {
    if (!isDigit(s.charCodeAt(i))) {
      i++
      continue
    }
    if (i > 0 && s.charCodeAt(i - 1) === 37) {
      // The hex digits of a percent-escape (`%20`, `%3A`) are not part of a number.
      i += 2
      continue
    }
    const groupStart = i
    chunkStart.length = 0
    chunkPos.length = 0
    chunkLen.length = 0
    digits.length = 0
    let j = i
    for (;;) {
      const start = j
      while (j < n && isDigit(s.charCodeAt(j))) {
        digits.push(s.charCodeAt(j) - 48)
        j++
      }
      chunkStart.push(digits.length - (j - start))
      chunkPos.push(start)
      chunkLen.push(j - start)
      const sep = separatorAt(s, j)
      if (sep > 0 && j + sep < n && isDigit(s.charCodeAt(j + sep))) {
        j += sep
        continue
      }
      break
    }
    const groupEnd = j
    i = j
    if (digits.length < 13) continue
    let masked: Array<boolean> | undefined
    for (let a = 0; a < chunkLen.length; a++) {
      let total = 0
      for (let b = a; b < chunkLen.length; b++) {
        total += chunkLen[b]
        if (total > 19) break
        if (total < 13) continue
        const from = chunkStart[a]
        const to = from + total
        if (!luhn(digits, from, to)) continue
        if (masked === undefined) masked = new Array<boolean>(digits.length).fill(false)
        for (let d = last4 ? from : from + 6; d < to - 4; d++) masked[d] = true
      }
    }
    if (masked === undefined) continue
    let text = ""
    let d = 0
    let at = groupStart
    for (let c = 0; c < chunkLen.length; c++) {
      // The separators between chunks (which may hold digits: `%20`) are copied as they are.
      text += s.slice(at, chunkPos[c])
      for (let k = chunkPos[c]; k < chunkPos[c] + chunkLen[c]; k++) {
        text += masked[d] ? "*" : s[k]
        d++
      }
      at = chunkPos[c] + chunkLen[c]
    }
    out = (out ?? "") + s.slice(copied, groupStart) + text
    copied = groupEnd
  }
  return out === undefined ? undefined : out + s.slice(copied)
}

/** Masks the digits of a value known to be a card number, whatever its length or check digit. */
const maskDigits = (s: string, last4: boolean): string => {
  let count = 0
  for (let i = 0; i < s.length; i++) if (isDigit(s.charCodeAt(i))) count++
  // At most first 6 and last 4 and only when at least 3 digits stay hidden; short values keep 4 or none.
  const keepFirst = !last4 && count >= 13 ? 6 : 0
  const keepLast = count >= 8 ? 4 : 0
  let out = ""
  let d = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (isDigit(c)) {
      out += d < keepFirst || d >= count - keepLast ? s[i] : "*"
      d++
    } else {
      out += s[i]
    }
  }
  return out
}

const redactKeyValues = (s: string, last4: boolean): string => {
  let out: string | undefined
  let copied = 0
  KEY_SEP.lastIndex = 0
  let m: RegExpExecArray | null
  while ((m = KEY_SEP.exec(s)) !== null) {
    const kind = classifyField(m[1])
    if (kind === "keep") continue
    const valueStart = m.index + m[0].length
    const keyQuote = m[2]
    let valueEnd = valueStart
    let replacement: string
    const first = s.charCodeAt(valueStart)
    const quoted = first === 34 || first === 39 || (first === 92 && s.charCodeAt(valueStart + 1) === 34)
    if (
      !quoted && keyQuote === undefined && m[3] === ":" && LINE_VALUE.has(m[1].toLowerCase().replace(/[^a-z]/g, ""))
    ) {
      LINE_REST.lastIndex = valueStart
      if (LINE_REST.exec(s) !== null) valueEnd = LINE_REST.lastIndex
    } else {
      VALUE.lastIndex = valueStart
      if (VALUE.exec(s) !== null) valueEnd = VALUE.lastIndex
    }
    if (valueEnd === valueStart) continue
    const valueText = s.slice(valueStart, valueEnd)
    if (kind === "mask") {
      replacement = maskDigits(valueText, last4)
    } else if (valueText.startsWith("\\\"") || (!quoted && keyQuote === "\\\"")) {
      replacement = `\\"${REDACTED}\\"`
    } else if (first === 34 || (!quoted && keyQuote === "\"")) {
      replacement = `"${REDACTED}"`
    } else if (first === 39) {
      replacement = `'${REDACTED}'`
    } else {
      replacement = REDACTED
    }
    out = (out ?? "") + s.slice(copied, valueStart) + replacement
    copied = valueEnd
    KEY_SEP.lastIndex = valueEnd
  }
  return out === undefined ? s : out + s.slice(copied)
}

const isBase64Credential = (token: string): boolean => token.length >= 4 && token.length % 4 === 0

const redactCredentials = (s: string): string => {
  let r = s
  if (/basic/i.test(r)) {
    r = r.replace(
      BASIC,
      (all, scheme: string, space: string, token: string) =>
        isBase64Credential(token) ? `${scheme}${space}${REDACTED}` : all
    )
  }
  if (/bearer|digest|negotiate/i.test(r)) {
    r = r.replace(BEARER, (_all, scheme: string, space: string) => `${scheme}${space}${REDACTED}`)
  }
  if (r.includes("eyJ")) {
    r = r.replace(JWT, REDACTED)
  }
  return r
}

/**
 * Redacts a string: card numbers masked, values of sensitive fields (`"cvv":"123"`, `cvv=123`,
 * `password: x`, `Authorization: ...`), Basic/Bearer credentials and JWTs removed. A string with
 * no run of 13 digits and no sensitive word is returned as it is.
 *
 * @example
 * ```ts
 * import { Redact } from "@stpp/connect"
 *
 * assert.strictEqual(Redact.string("card 4111111111111111, cvv=123"), "card 411111******1111, cvv=<redacted>")
 * ```
 *
 * @since 0.1.0
 * @category redaction
 */
export const string = (s: string, options?: Options): string => {
  const scan = scanText(s)
  if (scan === 0) return s
  const last4 = options?.panMask === "last4"
  let r = s
  if ((scan & SCAN_WORDS) !== 0) {
    r = redactKeyValues(r, last4)
    r = redactCredentials(r)
  }
  if ((scan & SCAN_USERINFO) !== 0 && r.includes("@")) {
    r = r.replace(URL_USERINFO, `$1:${REDACTED}@`)
  }
  if ((scan & SCAN_DIGITS) !== 0) {
    const masked = maskPans(r, last4)
    if (masked !== undefined) r = masked
  }
  return r
}

const SCAN_DIGITS = 1
const SCAN_WORDS = 2
const SCAN_USERINFO = 4

/**
 * One pass over the text deciding which rules could apply, so that ordinary text costs a loop over
 * its characters and no allocation: a card number needs 13 digits joined by at most single
 * separators; a sensitive field needs `:` or `=`; a credential needs a space; a JWT needs `eyJ`.
 */
const scanText = (s: string): number => {
  let digits = 0
  let punct = false
  let colon = false
  let jwt = false
  let out = 0
  const n = s.length
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      if (++digits >= 13) out |= SCAN_DIGITS
      continue
    }
    if (digits > 0) {
      // A single separator between digits keeps the group going.
      const sep = separatorAt(s, i)
      if (sep > 0 && i + sep < n && isDigit(s.charCodeAt(i + sep))) {
        i += sep - 1
        if (c === 32) punct = true
        continue
      }
      digits = 0
    }
    if (c === 58) {
      punct = true
      colon = true
    } else if (c === 61 || c === 32 || c === 9) {
      punct = true
    } else if (c === 101 && s.charCodeAt(i + 1) === 121 && s.charCodeAt(i + 2) === 74) {
      jwt = true
    }
  }
  if (jwt || (punct && WORD_HINT.test(s))) out |= SCAN_WORDS
  if (colon && s.includes("//")) out |= SCAN_USERINFO
  return out
}

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

const TRAILING_DIGIT_GROUP = /(?:\d|[ +-]|%2[0dDbB]?|%)+$/

const cut = (s: string, max: number): string => {
  if (s.length <= max) return s
  // Never cut inside a digit group: the first digits of a card number would stay unmasked.
  const head = s.slice(0, max).replace(TRAILING_DIGIT_GROUP, "")
  return `${head}…[+${s.length - head.length} chars]`
}

const walkString = (s: string, w: Walk): string => {
  const r = string(s, optionsOf(w))
  return r.length > w.maxStringLength ? string(cut(r, w.maxStringLength), optionsOf(w)) : r
}

// Field names that needed no redaction, so that the keys of every log line cost a Set lookup. Bounded.
const cleanKeys = new Set<string>()

const keyText = (key: string, w: Walk): string => {
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

const safeGet = (o: object, key: PropertyKey): unknown => {
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

/**
 * Redacts any value into a JSON-ready copy: strings by content, object fields by name at any depth,
 * arrays, `Map`s and `Set`s (as `{ _id, entries }` / `{ _id, values }`), `Error`s (name, message,
 * stack, `cause` chain and own fields), bytes, URLs, dates, values with `toJSON`. `Redacted` values
 * stay `<redacted>`; a value that contains itself gets {@link CIRCULAR_MARKER}; nesting, entries,
 * string lengths and the total number of values are bounded.
 *
 * @example
 * ```ts
 * import { Redact } from "@stpp/connect"
 *
 * assert.deepStrictEqual(
 *   Redact.value({ pan: "4111111111111111", securitycode: "123", baseamount: "1050" }, { panMask: "last4" }),
 *   { pan: "************1111", securitycode: "<redacted>", baseamount: "1050" }
 * )
 * ```
 *
 * @since 0.1.0
 * @category redaction
 */
export const value = (u: unknown, options?: Options): unknown => {
  if (typeof u === "string" && u.length <= (options?.maxStringLength ?? 32_768)) return string(u, options)
  return walk(u, makeWalk(options), 0)
}

/**
 * Redacts the value of a named field: removed when the name is sensitive, masked when it names a
 * card number, otherwise redacted by content like {@link value}.
 *
 * @since 0.1.0
 * @category redaction
 */
export const fieldValue = (name: string, u: unknown, options?: Options): unknown => {
  const kind = classifyField(name)
  if (kind === "keep") {
    if (typeof u === "string" && u.length <= (options?.maxStringLength ?? 32_768)) return string(u, options)
    if (typeof u === "number" && u < 1e12 && u > -1e12) return u
    if (typeof u === "boolean" || u === undefined || u === null) return u
  }
  return field(name, u, makeWalk(options), 0)
}

/**
 * A plain, JSON-ready, redacted view of an error: `name`, `message`, `stack`, the `cause` chain and
 * the error's own fields.
 *
 * @since 0.1.0
 * @category models
 */
export interface RedactedErrorFields {
  readonly name: string
  readonly message: string
  readonly stack?: string | undefined
  readonly cause?: unknown
  readonly [key: string]: unknown
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

/**
 * Redacts an error into a new `Error` (never the same object): its name, message and stack
 * redacted by content, its own fields by name and content, its `cause` chain redacted the same way.
 * A non-`Error` value becomes an `Error` whose message is the redacted value.
 *
 * @since 0.1.0
 * @category redaction
 */
export const error = (e: unknown, options?: Options): Error => toErrorInstance(e, makeWalk(options), 0)

/**
 * Redacts an error into a plain, JSON-ready object.
 *
 * @since 0.1.0
 * @category redaction
 */
export const errorFieldsOf = (e: Error, options?: Options): RedactedErrorFields =>
  walkError(e, makeWalk(options), 0) as RedactedErrorFields

/**
 * Redacts bytes (a `Uint8Array` or `Buffer`), read as UTF-8, into a string. Bytes beyond
 * `maxStringLength` are left out, with a marker.
 *
 * @since 0.1.0
 * @category redaction
 */
export const bytes = (buf: Uint8Array, options?: Options): string => {
  const max = options?.maxStringLength ?? 32_768
  const view = buf.length > max ? buf.subarray(0, max) : buf
  const text = string(new TextDecoder("utf-8").decode(view), options)
  if (buf.length <= max) return text
  // The cut may split a card number: drop a trailing digit group rather than show its first digits.
  return `${text.replace(TRAILING_DIGIT_GROUP, "")}…[+${buf.length - max} bytes]`
}

const safeDecode = (s: string): string => {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "))
  } catch {
    return s
  }
}

/**
 * Redacts a URL into a string: a password in it is removed, card numbers in the path, query and
 * fragment are masked, query parameters with sensitive names (`cvv=123`, `card[cvv]=123`) lose
 * their value. Text that is not a URL is redacted as a string.
 *
 * @since 0.1.0
 * @category redaction
 */
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

// -----------------------------------------------------------------------------
// causes
// -----------------------------------------------------------------------------

const redactFailure = (u: unknown, options: Options | undefined): unknown => {
  if (u instanceof Error) return error(u, options)
  if (typeof u === "string") return string(u, options)
  if (typeof u === "object" && u !== null && !Redacted.isRedacted(u)) {
    // Keep a toString that a Cause renders with, but only after redaction of what it returns.
    const redacted = value(u, options)
    const proto = Object.getPrototypeOf(u) as object | null
    const toString = proto === null ? undefined : safeGet(proto, "toString")
    if (typeof toString === "function" && toString !== Object.prototype.toString) {
      let text: string
      try {
        text = String(toString.call(u))
      } catch {
        return redacted
      }
      return error(new Error(string(text, options)), options)
    }
    return redacted
  }
  return value(u, options)
}

/**
 * Redacts a `Cause`: every failure and defect is redacted (`Error`s with {@link error}, other
 * values with {@link value}); interruptions and the cause's shape are kept. An empty cause is
 * returned as it is.
 *
 * @since 0.1.0
 * @category redaction
 */
export const cause = <E>(self: Cause.Cause<E>, options?: Options): Cause.Cause<unknown> => {
  if (Cause.isEmpty(self)) return self
  return Cause.match(self, {
    onEmpty: Cause.empty as Cause.Cause<unknown>,
    onFail: (e) => Cause.fail(redactFailure(e, options)),
    onDie: (d) => Cause.die(redactFailure(d, options)),
    onInterrupt: (id) => Cause.interrupt(id),
    onSequential: (l, r) => Cause.sequential(l, r),
    onParallel: (l, r) => Cause.parallel(l, r)
  })
}

/**
 * A `Cause` rendered as Effect prints it (with error causes), then redacted as text, so that
 * neither a failure's fields nor its stack carries a secret.
 *
 * @since 0.1.0
 * @category redaction
 */
export const prettyCause = <E>(self: Cause.Cause<E>, options?: Options): string =>
  string(Cause.pretty(cause(self, options), { renderErrorCause: true }), options)
