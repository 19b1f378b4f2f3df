// The card-number scanner: digits of any script, separators, Luhn, track data, masking and the text pre-scan.
import { classifyField } from "./fields.js"
import { REDACTED } from "./markers.js"

/**
 * Expiry dates and security codes written beside a card number: a date (`12/30`, `2030-12`, `1230`)
 * or a 3-4 digit number, unless a field name of its own says what it is (`"amount":1050`).
 */
const NEIGHBOUR =
  /(?<![\p{Nd}\p{L}])(?:([A-Za-z][A-Za-z0-9_-]{0,63})(\\?["']?[ \t]*[:=][ \t]*\\?["']?))?(\p{Nd}{2,4}[ \t]*[/\-.][ \t]*\p{Nd}{2,4}|\p{Nd}{3,4})(?![\p{Nd}\p{L}])/gu

/** How far after a card number (or its track data) an expiry or security code is looked for. */
const NEIGHBOUR_WINDOW = 48

/** The longest run of separators that still joins two groups of digits into one number. */
export const MAX_SEPARATOR_CHARS = 8

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
export const digitAt = (s: string, i: number): number => {
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
export const separatorAt = (s: string, i: number): number => {
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
export const maskPans = (s: string, last4: boolean): string | undefined => {
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
export const maskDigits = (s: string, last4: boolean): string => {
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

/** Anything that could start a sensitive field name, a credential or a JWT. */
const WORD_HINT =
  /pass|pwd|pin|csc|cv[vc2n]|cid|jwt|token|auth|exp|track|cookie|secur|secret|key|credential|pan|card|account|bearer|basic|eyj/i

export const SCAN_DIGITS = 1
export const SCAN_WORDS = 2
export const SCAN_USERINFO = 4
export const SCAN_BASE64 = 8
export const SCAN_MASKED = 16

/**
 * One pass over the text deciding which rules could apply, so that ordinary text costs a loop over
 * its characters and no allocation: a card number needs 12 digits joined by separators; a sensitive
 * field needs `:`, `=` or a space; a bare Basic credential needs a mixed-case base64 run of a
 * multiple of 4; a JWT needs `eyJ`.
 */
export const scanText = (s: string): number => {
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
