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
import * as fields from "./internal/redact/fields.js"
import * as markers from "./internal/redact/markers.js"
import * as text from "./internal/redact/text.js"
import * as walk from "./internal/redact/walk.js"

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
  /**
   * Secrets the caller knows by value (its password, its Basic token, the card values it sent):
   * replaced by {@link REDACTED} wherever they appear, before the content scan, in any shape the
   * scan would not recognise (a gateway echoing them, a certificate subject). See {@link withoutSecrets}.
   */
  readonly secrets?: ReadonlyArray<string> | undefined
}

/**
 * What a removed value is replaced with.
 *
 * @since 0.1.0
 * @category constants
 */
export const REDACTED: "<redacted>" = markers.REDACTED

/**
 * What stands for a value that refers back to one of its parents.
 *
 * @since 0.1.0
 * @category constants
 */
export const CIRCULAR_MARKER: "[Circular]" = markers.CIRCULAR_MARKER

/**
 * What stands for nesting deeper than `maxDepth`.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEPTH_MARKER: "[Truncated: too deep]" = markers.DEPTH_MARKER

/**
 * What stands for values beyond `maxNodes`.
 *
 * @since 0.1.0
 * @category constants
 */
export const SIZE_MARKER: "[Truncated: too large]" = markers.SIZE_MARKER

/**
 * How a field name is treated: `remove` (the value is replaced by {@link REDACTED}), `mask` (the
 * value is a card number and shown masked) or `keep` (the value is redacted by content only).
 *
 * @since 0.1.0
 * @category models
 */
export type FieldKind = "remove" | "mask" | "keep"

// -----------------------------------------------------------------------------
// redaction
// -----------------------------------------------------------------------------

/**
 * How a field name is treated, ignoring case and separators (`security_code`, `SecurityCode`,
 * `security-code` are one name).
 *
 * @since 0.1.0
 * @category field names
 */
export const classifyField: (name: string) => FieldKind = fields.classifyField

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
export const string: (s: string, options?: Options) => string = text.string

/**
 * `s` with each known secret, and its JSON-escaped form, replaced by {@link REDACTED}; a secret
 * that starts with a digit (a security code, a card number) only where it stands as a whole number.
 * What {@link string} does first with `options.secrets`.
 *
 * @example
 * ```ts
 * import { Redact } from "@stpp/connect"
 *
 * assert.strictEqual(
 *   Redact.withoutSecrets("echo hunter-2 and 123, not 41234", ["hunter-2", "123"]),
 *   "echo <redacted> and <redacted>, not 41234"
 * )
 * ```
 *
 * @since 0.1.0
 * @category redaction
 */
export const withoutSecrets: (s: string, secrets: ReadonlyArray<string>) => string = text.withoutSecrets

/**
 * Redacts `s` and shortens it to about `maxLength` characters, with a marker saying how much was
 * left out. It masks before it cuts and never cuts inside a group of digits, so a card number that
 * straddles the cut loses no more than a masked one shows (use this, not `slice`, on text that may
 * hold card data).
 *
 * @since 0.1.0
 * @category redaction
 */
export const truncate: (s: string, maxLength: number, options?: Options) => string = walk.truncate

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
export const value: (u: unknown, options?: Options) => unknown = walk.value

/**
 * Redacts the value of a named field: removed when the name is sensitive, masked when it names a
 * card number, otherwise redacted by content like {@link value}.
 *
 * @since 0.1.0
 * @category redaction
 */
export const fieldValue: (name: string, u: unknown, options?: Options) => unknown = walk.fieldValue

/**
 * Redacts a record of named values (log annotations, span attributes, event attributes): each name
 * by content, each value as {@link fieldValue} under its name. What the library itself writes into
 * a log annotation or a span passes through this first, so it is safe under any logger or tracer.
 *
 * @example
 * ```ts
 * import { Redact } from "@stpp/connect"
 *
 * assert.deepStrictEqual(
 *   Redact.annotations({ orderreference: "order 4111111111111111", password: "x", attempts: 2 }),
 *   { orderreference: "order 411111******1111", password: "<redacted>", attempts: 2 }
 * )
 * ```
 *
 * @since 0.1.0
 * @category redaction
 */
export const annotations = (
  record: Readonly<Record<string, unknown>>,
  options?: Options
): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(record)) out[string(key, options)] = fieldValue(key, record[key], options)
  return out
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

/**
 * Redacts an error into a new `Error` (never the same object): its name, message and stack
 * redacted by content, its own fields by name and content, its `cause` chain redacted the same way.
 * A non-`Error` value becomes an `Error` whose message is the redacted value.
 *
 * @since 0.1.0
 * @category redaction
 */
export const error: (e: unknown, options?: Options) => Error = walk.error

/**
 * Redacts an error into a plain, JSON-ready object.
 *
 * @since 0.1.0
 * @category redaction
 */
export const errorFieldsOf: (e: Error, options?: Options) => RedactedErrorFields = walk.errorFieldsOf

/**
 * Redacts bytes (a `Uint8Array` or `Buffer`), read as UTF-8, into a string. Bytes beyond
 * `maxStringLength` are left out, with a marker.
 *
 * @since 0.1.0
 * @category redaction
 */
export const bytes: (buf: Uint8Array, options?: Options) => string = walk.bytes

/**
 * Redacts a URL into a string: a password in it is removed, card numbers in the path, query and
 * fragment are masked, query parameters with sensitive names (`cvv=123`, `card[cvv]=123`) lose
 * their value. Text that is not a URL is redacted as a string.
 *
 * @since 0.1.0
 * @category redaction
 */
export const url: (u: string | URL, options?: Options) => string = walk.url

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
    const toString = proto === null ? undefined : walk.safeGet(proto, "toString")
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
