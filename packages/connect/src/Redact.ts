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
  /pass|pwd|pin|csc|cv[vc2n]|cid|jwt|token|auth|exp|track|cookie|secur|secret|key|credential|pan|card|account|bearer|basic|eyj/i

/** A field name followed by `=` or `:` (JSON, escaped JSON, query strings, headers, logfmt). */
const KEY_SEP = /(?<![A-Za-z0-9_-])([A-Za-z][A-Za-z0-9_-]{0,63})(\\?["']|\]|%5[dD]|%22)?[ \t]*([:=])[ \t]*/g

const VALUE =
  /\\"(?:[^"\\]|\\[^"])*(?:\\"|$)|"(?:[^"\\]|\\.)*(?:"|$)|'[^'\r\n]*(?:'|$)|\[[^[\]]*(?:\]|$)|\{[^{}]*(?:\}|$)|[^\s&;,"'<>{}()[\]\\|]+/y

const LINE_REST = /[^\r\n"\\]+/y

/** Effect's `ConfigError.MissingData` message, a fixed phrase about a setting that has no value. */
const EFFECT_MISSING = /\\?"?Expected [A-Za-z0-9_.[\]-]{1,128} to exist in the process context\\?"?/y

/**
 * A sensitive word followed by its value after a space, as people write it in free text
 * (`password hunter2`, `cvv 123`, `Authorization dXNlcjpwYXNz`). The value's shape depends on the word.
 */
const KEY_SPACE =
  /(?<![A-Za-z0-9_-])(passwords?|passwd|passphrase|pwd|secret|token|authorization|cvv2?|cvc2?|cv2|cvn|csc|(?:card[ _-]?)?security[ _-]?code|pin|exp(?:iry)?(?:[ _-]?date)?)[ \t]+(?=[^ \t])/gi

/** Words that follow "password" in a sentence about one ("password is not set") rather than a password. */
const PROSE: ReadonlySet<string> = new Set([
  "a",
  "an",
  "and",
  "are",
  "as",
  "at",
  "be",
  "been",
  "by",
  "can",
  "cannot",
  "changed",
  "could",
  "does",
  "expired",
  "for",
  "from",
  "given",
  "has",
  "have",
  "if",
  "in",
  "invalid",
  "is",
  "it",
  "may",
  "missing",
  "must",
  "not",
  "of",
  "on",
  "only",
  "or",
  "policy",
  "required",
  "set",
  "should",
  "that",
  "the",
  "this",
  "to",
  "too",
  "unset",
  "was",
  "were",
  "when",
  "will",
  "with",
  "would",
  "<redacted>"
])

const PROSE_WORD = /[A-Za-z<>]+/y

const NUMERIC_VALUE = /\p{Nd}{3,4}(?![\p{Nd}\p{L}])/uy
const PIN_VALUE = /\p{Nd}{4,12}(?![\p{Nd}\p{L}])/uy
const DATE_VALUE = /\p{Nd}{2,4}(?:[ \t]*[/\-.][ \t]*\p{Nd}{2,4})?(?![\p{Nd}\p{L}])/uy
const SCHEME = /(?:Basic|Bearer|Digest|Negotiate)\b/iy

const BASIC = /\b(Basic)([ \t]+)([A-Za-z0-9+/]+={0,2})/gi

const BEARER = /\b(Bearer|Digest|Negotiate)([ \t]+)([A-Za-z0-9\-._~+/]+=*)/gi

/** A run that could be base64: what a Basic credential is when it is written without its scheme. */
const BASE64_TOKEN = /(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{8,}={0,2}(?![A-Za-z0-9+/=])/g

/** What a decoded Basic credential holds: `user:password`, printable. */
const USER_PASS = /^[\x21-\x39\x3b-\x7e][\x20-\x7e]*:[\x20-\x7e]*$/

const URL_USERINFO = /(\/\/[^/?#@\s:]*):([^/?#@\s]+)@/g

const JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g

/** Six digits, a mask of two or more `*`, `#` or `•`, four digits: a PAN masked first-6/last-4 elsewhere. */
const MASKED_FIRST6 = /(?<!\p{Nd})\p{Nd}{6}(?=[*#\u2022]{2,13}\p{Nd}{4}(?!\p{Nd}))/gu

/**
 * Expiry dates and security codes written beside a card number: a date (`12/30`, `2030-12`, `1230`)
 * or a 3-4 digit number, unless a field name of its own says what it is (`"amount":1050`).
 */
const NEIGHBOUR =
  /(?<![\p{Nd}\p{L}])(?:([A-Za-z][A-Za-z0-9_-]{0,63})(\\?["']?[ \t]*[:=][ \t]*\\?["']?))?(\p{Nd}{2,4}[ \t]*[/\-.][ \t]*\p{Nd}{2,4}|\p{Nd}{3,4})(?![\p{Nd}\p{L}])/gu

/** How far after a card number (or its track data) an expiry or security code is looked for. */
const NEIGHBOUR_WINDOW = 48

/** The longest run of separators that still joins two groups of digits into one number. */
const MAX_SEPARATOR_CHARS = 8

// The length in code units of the digit last read by `digitAt` (2 for digits outside the BMP).
let digitLength = 1

const ND = /^\p{Nd}$/u
const ndCache = new Map<number, number>()

/** A code point's decimal value when it is a decimal digit of any script, else -1. Memoised, bounded. */
const ndValue = (cp: number): number => {
  const cached = ndCache.get(cp)
  if (cached !== undefined) return cached
  let value = -1
  if (ND.test(String.fromCodePoint(cp))) {
    // Unicode keeps each script's digits 0-9 contiguous and in order: count from the run's start.
    let zero = cp
    while (zero > cp - 64 && ND.test(String.fromCodePoint(zero - 1))) zero--
    value = (cp - zero) % 10
  }
  if (ndCache.size >= 1024) ndCache.clear()
  ndCache.set(cp, value)
  return value
}

/**
 * The value of the decimal digit at `i`, in any script (`\p{Nd}`: ASCII, fullwidth, Arabic-Indic,
 * Devanagari, mathematical...), or -1. Its length in code units is left in `digitLength`.
 */
const digitAt = (s: string, i: number): number => {
  const c = s.charCodeAt(i)
  if (c >= 48 && c <= 57) {
    digitLength = 1
    return c - 48
  }
  if (!(c >= 0x660)) return -1
  const cp = s.codePointAt(i)!
  digitLength = cp > 0xffff ? 2 : 1
  return ndValue(cp)
}

const isDigit = (s: string, i: number): boolean => digitAt(s, i) >= 0

const isHex = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)

/**
 * The length of one separator at `i`, or 0: whitespace and line breaks (also as JSON escapes and
 * percent-encodings), dashes, dots, slashes, underscores, plus signs, and their Unicode forms.
 */
const separatorAt = (s: string, i: number): number => {
  const c = s.charCodeAt(i)
  switch (c) {
    case 9:
    case 10:
    case 13:
    case 32:
    case 43:
    case 45:
    case 46:
    case 47:
    case 95:
      return 1
    case 37: {
      const a = s.charCodeAt(i + 1)
      const b = s.charCodeAt(i + 2) | 0x20
      if (a === 50 && (b === 48 || b === 0x62 || b === 0x64 || b === 0x65 || b === 0x66)) return 3
      if (a === 48 && (b === 0x61 || b === 0x64 || b === 57)) return 3
      return 0
    }
    case 92: {
      const a = s.charCodeAt(i + 1)
      return a === 110 || a === 114 || a === 116 ? 2 : 0
    }
  }
  if (c < 0xa0) return 0
  return c === 0xa0 || (c >= 0x2000 && c <= 0x200a) || (c >= 0x2010 && c <= 0x2015) || c === 0x2024 ||
      c === 0x202f || c === 0x205f || c === 0x2212 || c === 0x3000 || c === 0x30fb || c === 0xfe58 ||
      c === 0xfe63 || c === 0xff0d || c === 0xff0e || c === 0xff0f || c === 0xff3f
    ? 1
    : 0
}

/** A single space, dash or plus (or its percent-encoding): the separators card layouts use, always joining. */
const isSimpleSeparator = (s: string, i: number, length: number): boolean => {
  if (length === 1) {
    const c = s.charCodeAt(i)
    return c === 32 || c === 45 || c === 43
  }
  if (length !== 3 || s.charCodeAt(i + 1) !== 50) return false
  const b = s.charCodeAt(i + 2) | 0x20
  return b === 48 || b === 0x64 || b === 0x62
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

/** The number of digits in the run starting at `i`. */
const digitRunLength = (s: string, i: number): number => {
  let count = 0
  while (i < s.length && digitAt(s, i) >= 0) {
    i += digitLength
    count++
  }
  return count
}

/** Where track data after a card number ends (`=YYMM...?` of track 2, `^NAME^YYMM...?` of track 1). */
const trackEnd = (s: string, at: number): number => {
  const c = s.charCodeAt(at)
  if (c !== 61 && c !== 94) return at
  if (c === 61 && !isDigit(s, at + 1)) return at
  const limit = Math.min(s.length, at + 128)
  for (let i = at + 1; i < limit; i++) {
    const d = s.charCodeAt(i)
    if (d === 63) return i + 1
    if (d === 34 || d === 10 || d === 13 || d === 60 || (d === 32 && c === 61)) return i
  }
  return limit
}

/** An edit: text from `start` to `end` replaced by `text`. Kept in ascending, disjoint order. */
interface Edits {
  readonly start: Array<number>
  readonly end: Array<number>
  readonly text: Array<string>
}

const edit = (edits: Edits, start: number, end: number, text: string): void => {
  edits.start.push(start)
  edits.end.push(end)
  edits.text.push(text)
}

const applyEdits = (s: string, edits: Edits): string => {
  let out = ""
  let at = 0
  for (let k = 0; k < edits.start.length; k++) {
    out += s.slice(at, edits.start[k]) + edits.text[k]
    at = edits.end[k]
  }
  return out + s.slice(at)
}

/** Removes expiry dates and security codes in `[from, to)`, after a card number. */
const neighbours = (s: string, from: number, to: number, edits: Edits): void => {
  // The tail of an expiry whose first digits ended the card number's group (`...1111 12/30`).
  const c = s.charCodeAt(from)
  if ((c === 47 || c === 45 || c === 46) && isDigit(s, from + 1)) {
    const length = digitRunLength(s, from + 1)
    const end = from + 1 + length * digitLength
    if (length >= 2 && length <= 4 && !/[\p{L}]/u.test(s.charAt(end))) {
      edit(edits, from + 1, end, REDACTED)
      from = end
    }
  }
  NEIGHBOUR.lastIndex = from
  let m: RegExpExecArray | null
  while ((m = NEIGHBOUR.exec(s)) !== null && m.index < to) {
    const end = m.index + m[0].length
    if (end > to) break
    if (m[1] !== undefined && classifyField(m[1]) === "keep") continue
    const start = end - m[3].length
    edit(edits, start, end, REDACTED)
  }
}

/**
 * Masks every Luhn-valid card number of 12 to 19 digits in `s` (digits of any script) and removes
 * the track data and any expiry date or security code written just after it; `undefined` when there
 * is none. Digits are joined into one number across a single space, dash or plus, and across other
 * separators (dots, slashes, underscores, line breaks, runs of several) where a group has 4 or more
 * digits, so an IPv4 address or a time is not taken for one. A joined group is split at its
 * separators into every run of 12 to 19 digits, so a number next to another is found; a run glued to
 * further digits without a separator is a different number and is left alone.
 */
const maskPans = (s: string, last4: boolean): string | undefined => {
  const n = s.length
  const edits: Edits = { start: [], end: [], text: [] }
  let pending = -1
  let i = 0
  const chunkStart: Array<number> = []
  const chunkLen: Array<number> = []
  const digits: Array<number> = []
  const digitPos: Array<number> = []
  const digitLen: Array<number> = []
  while (i < n) {
    if (digitAt(s, i) < 0) {
      i++
      continue
    }
    if (i > 0 && s.charCodeAt(i - 1) === 37 && isHex(s.charCodeAt(i)) && isHex(s.charCodeAt(i + 1))) {
      // The hex digits of a percent-escape (`%20`, `%3A`) are not part of a number.
      i += 2
      continue
    }
    chunkStart.length = 0
    chunkLen.length = 0
    digits.length = 0
    digitPos.length = 0
    digitLen.length = 0
    let j = i
    for (;;) {
      const first = digits.length
      let v: number
      while (j < n && (v = digitAt(s, j)) >= 0) {
        digits.push(v)
        digitPos.push(j)
        digitLen.push(digitLength)
        j += digitLength
      }
      chunkStart.push(first)
      chunkLen.push(digits.length - first)
      let k = j
      let units = 0
      let unit: number
      while (k - j <= MAX_SEPARATOR_CHARS && (unit = separatorAt(s, k)) > 0) {
        k += unit
        units++
      }
      if (units === 0 || k - j > MAX_SEPARATOR_CHARS || k >= n || !isDigit(s, k)) break
      const simple = units === 1 && isSimpleSeparator(s, j, k - j)
      if (!simple && Math.max(chunkLen[chunkLen.length - 1], digitRunLength(s, k)) < 4) break
      j = k
    }
    const groupStart = i
    const groupEnd = j
    i = j
    if (digits.length < 12) continue
    if (pending >= 0) {
      neighbours(s, pending, Math.min(groupStart, pending + NEIGHBOUR_WINDOW), edits)
      pending = -1
    }
    // From the earliest chunk, the longest Luhn-valid run of whole chunks is a card number; the
    // search goes on after it, so digits written after a card (its expiry, its code) are not taken
    // for a second one but looked at as its neighbours.
    let masked: Array<boolean> | undefined
    let lastEnd = -1
    for (let a = 0; a < chunkLen.length; a++) {
      let total = 0
      let best = -1
      let bestTotal = 0
      for (let b = a; b < chunkLen.length; b++) {
        total += chunkLen[b]
        if (total > 19) break
        if (total >= 12 && luhn(digits, chunkStart[a], chunkStart[a] + total)) {
          best = b
          bestTotal = total
        }
      }
      if (best < 0) continue
      const from = chunkStart[a]
      const to = from + bestTotal
      if (masked === undefined) masked = new Array<boolean>(digits.length).fill(false)
      const keepFirst = !last4 && bestTotal >= 13 ? 6 : 0
      for (let d = from + keepFirst; d < to - 4; d++) masked[d] = true
      lastEnd = to
      a = best
    }
    if (masked === undefined) continue
    for (let d = 0; d < digits.length; d++) {
      if (masked[d]) edit(edits, digitPos[d], digitPos[d] + digitLen[d], "*")
    }
    // Track data and neighbours follow the card number's last digit: digits trailing it in the same
    // group (`4111 1111 1111 1111 12/30`) are looked at as neighbours.
    const after = lastEnd === digits.length ? groupEnd : digitPos[lastEnd - 1] + digitLen[lastEnd - 1]
    const track = after === groupEnd ? trackEnd(s, groupEnd) : groupEnd
    if (track > groupEnd + 1) {
      edit(edits, groupEnd + 1, track, REDACTED)
      i = track
      pending = track
    } else {
      pending = after
    }
  }
  if (pending >= 0) neighbours(s, pending, Math.min(n, pending + NEIGHBOUR_WINDOW), edits)
  return edits.start.length === 0 ? undefined : applyEdits(s, edits)
}

/** Characters that already stand for a hidden digit in a masked card number (`411111######1111`). */
const isMaskChar = (c: number): boolean => c === 42 || c === 35 || c === 0x2022

/**
 * Masks the digits of a value known to be a card number, whatever its length or check digit. Mask
 * characters already in it count as hidden digits, so a number masked elsewhere keeps its shape.
 */
const maskDigits = (s: string, last4: boolean): string => {
  let count = 0
  let digits = 0
  for (let i = 0; i < s.length; i++) {
    if (digitAt(s, i) >= 0) {
      count++
      digits++
      i += digitLength - 1
    } else if (isMaskChar(s.charCodeAt(i))) {
      count++
    }
  }
  if (digits === 0) return s
  // At most first 6 and last 4 and only when at least 3 digits stay hidden; short values keep 4 or none.
  const keepFirst = !last4 && count >= 13 ? 6 : 0
  const keepLast = count >= 8 ? 4 : 0
  let out = ""
  let d = 0
  for (let i = 0; i < s.length; i++) {
    if (digitAt(s, i) >= 0) {
      out += d < keepFirst || d >= count - keepLast ? s.slice(i, i + digitLength) : "*"
      i += digitLength - 1
      d++
    } else {
      if (isMaskChar(s.charCodeAt(i))) d++
      out += s[i]
    }
  }
  return out
}

const quotedRedacted = (first: number, keyQuote: string | undefined, valueText: string, quoted: boolean): string => {
  if (valueText.startsWith("\\\"") || (!quoted && keyQuote === "\\\"")) return `\\"${REDACTED}\\"`
  if (first === 34 || (!quoted && keyQuote === "\"")) return `"${REDACTED}"`
  if (first === 39) return `'${REDACTED}'`
  return REDACTED
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
    // Effect's own `MissingData` text says the setting is missing: it holds no value to remove.
    EFFECT_MISSING.lastIndex = valueStart
    if (EFFECT_MISSING.test(s)) continue
    let valueEnd = valueStart
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
    const replacement = kind === "mask"
      ? maskDigits(valueText, last4)
      : quotedRedacted(first, keyQuote, valueText, quoted)
    out = (out ?? "") + s.slice(copied, valueStart) + replacement
    copied = valueEnd
    KEY_SEP.lastIndex = valueEnd
  }
  return out === undefined ? s : out + s.slice(copied)
}

/** The end of the value after a sensitive word and a space, or -1 when what follows is not one. */
const spacedValueEnd = (s: string, word: string, at: number): number => {
  const w = word.toLowerCase()
  const sticky = (re: RegExp) => {
    re.lastIndex = at
    return re.exec(s) === null ? -1 : re.lastIndex
  }
  if (w.startsWith("cv") || w === "csc" || w.endsWith("code")) return sticky(NUMERIC_VALUE)
  if (w === "pin") return sticky(PIN_VALUE)
  if (w.startsWith("exp")) return sticky(DATE_VALUE)
  if (sticky(SCHEME) >= 0) return -1 // `Authorization Basic x`: the credential rules remove x
  PROSE_WORD.lastIndex = at
  const word2 = PROSE_WORD.exec(s)
  if (word2 !== null && PROSE.has(word2[0].toLowerCase()) && !/[^\s,;.)]/.test(s.charAt(PROSE_WORD.lastIndex))) {
    return -1
  }
  return sticky(VALUE)
}

/** Values written after a sensitive word and a space (`password hunter2`, `cvv 123`). */
const redactSpacedValues = (s: string): string => {
  let out: string | undefined
  let copied = 0
  KEY_SPACE.lastIndex = 0
  let m: RegExpExecArray | null
  while ((m = KEY_SPACE.exec(s)) !== null) {
    const valueStart = m.index + m[0].length
    const valueEnd = spacedValueEnd(s, m[1], valueStart)
    if (valueEnd <= valueStart) continue
    const first = s.charCodeAt(valueStart)
    out = (out ?? "") + s.slice(copied, valueStart) +
      quotedRedacted(first, undefined, s.slice(valueStart, valueEnd), first === 34 || first === 39)
    copied = valueEnd
    KEY_SPACE.lastIndex = valueEnd
  }
  return out === undefined ? s : out + s.slice(copied)
}

const isBase64Credential = (token: string): boolean => token.length >= 4 && token.length % 4 === 0

/** Whether a base64 token decodes to `user:password`: a Basic credential written without `Basic`. */
const isBareBasicCredential = (token: string): boolean => {
  if (token.length % 4 !== 0) return false
  let decoded: string
  try {
    decoded = atob(token)
  } catch {
    return false
  }
  return USER_PASS.test(decoded)
}

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
 * Redacts a string: card numbers masked (in any script's digits, with any separators, across lines)
 * with the track data, expiry dates and security codes written beside them removed; values of
 * sensitive fields (`"cvv":"123"`, `cvv=123`, `cvv 123`, `password: x`, `password x`,
 * `Authorization: ...`), Basic credentials (with or without `Basic`), Bearer tokens and JWTs
 * removed. A string with no run of 12 digits, no sensitive word and no base64 run is returned as it is.
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
    r = redactSpacedValues(r)
  }
  if ((scan & SCAN_BASE64) !== 0) {
    r = r.replace(BASE64_TOKEN, (token) => isBareBasicCredential(token) ? REDACTED : token)
  }
  if ((scan & SCAN_USERINFO) !== 0 && r.includes("@")) {
    r = r.replace(URL_USERINFO, `$1:${REDACTED}@`)
  }
  if ((scan & SCAN_DIGITS) !== 0) {
    const masked = maskPans(r, last4)
    if (masked !== undefined) r = masked
  }
  if (last4 && (scan & SCAN_MASKED) !== 0) {
    r = r.replace(MASKED_FIRST6, "******")
  }
  return r
}

const SCAN_DIGITS = 1
const SCAN_WORDS = 2
const SCAN_USERINFO = 4
const SCAN_BASE64 = 8
const SCAN_MASKED = 16

/**
 * One pass over the text deciding which rules could apply, so that ordinary text costs a loop over
 * its characters and no allocation: a card number needs 12 digits joined by separators; a sensitive
 * field needs `:`, `=` or a space; a bare Basic credential needs a mixed-case base64 run of a
 * multiple of 4; a JWT needs `eyJ`.
 */
const scanText = (s: string): number => {
  let digits = 0
  let separators = 0
  let run = 0
  let upper = false
  let lower = false
  let punct = false
  let colon = false
  let jwt = false
  let out = 0
  const n = s.length
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c >= 97 && c <= 122) {
      run++
      lower = true
      digits = 0
      if (c === 101 && s.charCodeAt(i + 1) === 121 && s.charCodeAt(i + 2) === 74) jwt = true
      continue
    }
    if (c >= 65 && c <= 90) {
      run++
      upper = true
      digits = 0
      continue
    }
    if (c >= 48 && c <= 57) {
      run++
      separators = 0
      if (++digits >= 12) out |= SCAN_DIGITS
      continue
    }
    if (run >= 12 && upper && lower && c !== 43 && c !== 47) {
      const pad = c === 61 ? (s.charCodeAt(i + 1) === 61 ? 2 : 1) : 0
      if ((run + pad) % 4 === 0) out |= SCAN_BASE64
    }
    if (c === 43 || c === 47) {
      run++
    } else {
      run = 0
      upper = false
      lower = false
    }
    if (c >= 0x660 && digitAt(s, i) >= 0) {
      i += digitLength - 1
      separators = 0
      if (++digits >= 12) out |= SCAN_DIGITS
      continue
    }
    if (digits > 0) {
      const sep = separatorAt(s, i)
      if (sep > 0 && (separators += sep) <= MAX_SEPARATOR_CHARS) {
        i += sep - 1
        if (c === 32) punct = true
        continue
      }
      digits = 0
      separators = 0
    }
    if (c === 58) {
      punct = true
      colon = true
    } else if (c === 61 || c === 32 || c === 9) {
      punct = true
    } else if (c === 42 || c === 35 || c === 0x2022) {
      out |= SCAN_MASKED
    }
  }
  if (run >= 12 && upper && lower && run % 4 === 0) out |= SCAN_BASE64
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

/**
 * Redacts `s` and shortens it to about `maxLength` characters, with a marker saying how much was
 * left out. It masks before it cuts and never cuts inside a group of digits, so a card number that
 * straddles the cut loses no more than a masked one shows (use this, not `slice`, on text that may
 * hold card data).
 *
 * @since 0.1.0
 * @category redaction
 */
export const truncate = (s: string, maxLength: number, options?: Options): string => {
  const r = string(s, options)
  return r.length > maxLength ? string(cut(r, Math.max(0, maxLength)), options) : r
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
  return `${dropTrailingDigitGroup(text)}…[+${buf.length - max} bytes]`
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
