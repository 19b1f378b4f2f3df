// Redaction of text: sensitive key/values, credentials, JWTs and URL passwords, after the pre-scan.
import type { Options } from "../../Redact.js"
import { classifyField, LINE_VALUE } from "./fields.js"
import { REDACTED } from "./markers.js"
import {
  maskDigits,
  maskPans,
  SCAN_BASE64,
  SCAN_DIGITS,
  SCAN_MASKED,
  SCAN_USERINFO,
  SCAN_WORDS,
  scanText
} from "./pan.js"

// -----------------------------------------------------------------------------
// strings
// -----------------------------------------------------------------------------

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

const ESCAPE = /[.*+?^${}()|[\]\\/]/g

interface SecretForm {
  readonly text: string
  /** For a secret that starts with a digit: the whole-number match. */
  readonly digits: RegExp | undefined
}

// The forms of each list of secrets, worked out once per list (a client passes the same one each time).
const formsOf = new WeakMap<ReadonlyArray<string>, ReadonlyArray<SecretForm>>()

const secretForms = (secrets: ReadonlyArray<string>): ReadonlyArray<SecretForm> => {
  let forms = formsOf.get(secrets)
  if (forms === undefined) {
    const texts = new Set<string>()
    for (const secret of secrets) {
      if (secret.length === 0) continue
      texts.add(secret)
      texts.add(JSON.stringify(secret).slice(1, -1))
    }
    forms = [...texts].map((text) => ({
      text,
      digits: /^\d/.test(text) ? new RegExp(`(?<!\\d)${text.replace(ESCAPE, "\\$&")}(?!\\d)`, "g") : undefined
    }))
    formsOf.set(secrets, forms)
  }
  return forms
}

/**
 * `s` with each known secret, and its JSON-escaped form, replaced by `REDACTED`; a secret that
 * starts with a digit only where it stands as a whole number (a CVV "123" is not taken out of "41234").
 */
export const withoutSecrets = (s: string, secrets: ReadonlyArray<string>): string => {
  let out = s
  for (const form of secretForms(secrets)) {
    if (!out.includes(form.text)) continue
    out = form.digits === undefined ? out.split(form.text).join(REDACTED) : out.replace(form.digits, REDACTED)
  }
  return out
}

export const string = (text: string, options?: Options): string => {
  const secrets = options?.secrets
  const s = secrets === undefined || secrets.length === 0 ? text : withoutSecrets(text, secrets)
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
