/**
 * The request envelope `{"alias", "version": "1.00", "request": [...]}` and its wire form. Encoding
 * is the one place where card fields are revealed.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as AST from "effect/SchemaAST"
import * as SchemaFast from "./internal/schemaFast.js"
import * as Requests from "./Requests.js"

/**
 * The JSON API's version.
 *
 * @since 0.1.0
 * @category models
 */
export const VERSION = "1.00"

/**
 * This library's name and version, as the envelope's `libraryversion` (the official libraries send
 * "python_1.0.25", "php_3.1.0"): it helps the gateway's support.
 *
 * @since 0.1.0
 * @category models
 */
export const LIBRARY_VERSION = "stpp-connect_0.1.0"

/**
 * @since 0.1.0
 * @category schemas
 */
export const RequestEnvelope = Schema.Struct({
  alias: Schema.String,
  version: Schema.Literal(VERSION),
  request: Schema.NonEmptyArray(Requests.Request)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface RequestEnvelope extends Schema.Schema.Type<typeof RequestEnvelope> {}

/**
 * The envelope as wire JSON text (card fields revealed here, and only here). Decoding only: to
 * encode, use {@link encode}, which also writes `extraFields` and the request reference.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RequestEnvelopeFromJson = Schema.parseJson(RequestEnvelope)

/**
 * What {@link encode} adds to the envelope.
 *
 * @since 0.1.0
 * @category models
 */
export interface EncodeOptions {
  /** Written as `requestreference` into every request item (as both official libraries do). */
  readonly requestreference?: string | undefined
  /** Default {@link LIBRARY_VERSION}; `false` leaves it out. */
  readonly libraryversion?: string | false | undefined
}

const fail = (
  path: readonly [PropertyKey, ...Array<PropertyKey>],
  actual: unknown,
  message: string
): ParseResult.ParseError =>
  new ParseResult.ParseError({
    issue: new ParseResult.Pointer(path, actual, new ParseResult.Type(Schema.Never.ast, actual, message))
  })

// A card field encodes to its value when it holds a string (what Schema.Redacted(Schema.String) does).
const cardFields = new Map<AST.AST, SchemaFast.FieldEncoder>([[
  Requests.CardField.ast,
  (u) => Redacted.isRedacted(u) && typeof Redacted.value(u) === "string" ? Redacted.value(u) : SchemaFast.NO
]])

// One encoder per request schema, built on first use rather than on every item.
const encoders = new Map<Schema.Schema.AnyNoContext, (u: unknown) => Either.Either<unknown, ParseResult.ParseError>>()
const encoderFor = (schema: Schema.Schema.AnyNoContext) => {
  let encoder = encoders.get(schema)
  if (encoder === undefined) {
    encoder = SchemaFast.structEncoder(schema, cardFields)
    encoders.set(schema, encoder)
  }
  return encoder
}

const encodeItem = (
  item: Requests.Request,
  index: number,
  options: EncodeOptions
): Either.Either<Record<string, unknown>, ParseResult.ParseError> => {
  const types = Array.isArray(item.requesttypedescriptions) ? item.requesttypedescriptions : []
  const schema = Requests.schemaFor(types)
  if (schema === undefined) {
    return Either.left(fail(
      ["request", index, "requesttypedescriptions"],
      types,
      `not a modelled request type or chain (allowed: one type, or ${
        Requests.CHAINS.map((c) => c.join("+")).join(", ")
      })`
    ))
  }
  // An unknown property is an error naming it, never dropped: extraFields is the named way in.
  const encoded = encoderFor(schema)(item)
  if (Either.isLeft(encoded)) {
    return Either.left(
      new ParseResult.ParseError({ issue: new ParseResult.Pointer(["request", index], item, encoded.left.issue) })
    )
  }
  const { extraFields, ...out } = encoded.right as Record<string, unknown> & {
    readonly extraFields?: Readonly<Record<string, unknown>>
  }
  const updates = out.updates as Record<string, unknown> | undefined
  if (updates !== undefined && "baseamount" in updates) {
    const { baseamount, ...rest } = updates
    out.updates = { settlebaseamount: baseamount, ...rest }
  }
  if (extraFields !== undefined) {
    for (const key of Object.keys(extraFields)) {
      if (Requests.KNOWN_FIELDS.has(key) || key in out) {
        return Either.left(fail(
          ["request", index, "extraFields", key],
          key,
          `"${key}" is a typed field: set it directly, not through extraFields`
        ))
      }
      out[key] = extraFields[key]
    }
  }
  if (options.requestreference !== undefined) out.requestreference = options.requestreference
  return Either.right(out)
}

/**
 * {@link encode} as an `Either`, for callers that encode on a hot path without a fiber step.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeEither = (
  envelope: RequestEnvelope,
  options: EncodeOptions = {}
): Either.Either<string, ParseResult.ParseError> => {
  const items: Array<Record<string, unknown>> = []
  for (let i = 0; i < envelope.request.length; i++) {
    const item = encodeItem(envelope.request[i], i, options)
    if (Either.isLeft(item)) return Either.left(item.left)
    items.push(item.right)
  }
  const library = options.libraryversion === undefined ? LIBRARY_VERSION : options.libraryversion
  return Either.right(JSON.stringify({
    alias: envelope.alias,
    version: VERSION,
    request: items,
    ...(library === false ? {} : { libraryversion: library })
  }))
}

/**
 * Encodes an envelope into its wire JSON text: each item by its own type's schema (an unknown
 * property fails, naming it), `extraFields` written verbatim, `requestreference` in every item.
 * Fails only with a `ParseError` that never holds the card values: they are `Redacted`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (
  envelope: RequestEnvelope,
  options: EncodeOptions = {}
): Effect.Effect<string, ParseResult.ParseError> => encodeEither(envelope, options)

/**
 * Builds an envelope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  alias: string,
  requests: readonly [Requests.Request, ...Array<Requests.Request>]
): RequestEnvelope => ({ alias, version: VERSION, request: requests })
