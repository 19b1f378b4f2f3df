// Sensitive field names and how each is treated (remove, mask, keep), memoised.
import type { FieldKind } from "../../Redact.js"

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
export const LINE_VALUE: ReadonlySet<string> = new Set(["authorization", "proxyauthorization", "cookie", "setcookie"])

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

export const classifyField = (name: string): FieldKind => {
  const cached = fieldCache.get(name)
  if (cached !== undefined) return cached
  const kind = classifyNormalized(name.toLowerCase().replace(/[^a-z0-9]/g, ""))
  if (fieldCache.size >= 4096) fieldCache.clear()
  fieldCache.set(name, kind)
  return kind
}
