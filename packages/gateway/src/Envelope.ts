/**
 * The request envelope `{"alias", "version": "1.00", "request": [...]}` and its wire form. Encoding
 * is the one place where card fields are revealed.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
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

// One encoder per request schema, built on first use rather than on every item.
const encoders = new Map<Schema.Schema.AnyNoContext, (u: unknown) => Either.Either<unknown, ParseResult.ParseError>>()
const encoderFor = (schema: Schema.Schema.AnyNoContext) => {
  let encoder = encoders.get(schema)
  if (encoder === undefined) {
    encoder = Schema.encodeUnknownEither(schema, { onExcessProperty: "error" })
    encoders.set(schema, encoder)
  }
  return encoder
}

const encodeItem = (
  item: Requests.Request,
  index: number,
  options: EncodeOptions
): Effect.Effect<Record<string, unknown>, ParseResult.ParseError> =>
  Effect.gen(function*() {
    const types = Array.isArray(item.requesttypedescriptions) ? item.requesttypedescriptions : []
    const schema = Requests.schemaFor(types)
    if (schema === undefined) {
      return yield* fail(
        ["request", index, "requesttypedescriptions"],
        types,
        `not a modelled request type or chain (allowed: one type, or ${
          Requests.CHAINS.map((c) => c.join("+")).join(", ")
        })`
      )
    }
    // An unknown property is an error naming it, never dropped: extraFields is the named way in.
    const encoded = yield* encoderFor(schema)(item).pipe(
      Effect.mapError((e) =>
        new ParseResult.ParseError({ issue: new ParseResult.Pointer(["request", index], item, e.issue) })
      )
    )
    const { extraFields, ...fields } = encoded as Record<string, unknown> & {
      readonly extraFields?: Readonly<Record<string, unknown>>
    }
    const out: Record<string, unknown> = { ...fields }
    const updates = out.updates as Record<string, unknown> | undefined
    if (updates !== undefined && "baseamount" in updates) {
      const { baseamount, ...rest } = updates
      out.updates = { settlebaseamount: baseamount, ...rest }
    }
    for (const [key, value] of Object.entries(extraFields ?? {})) {
      if (Requests.KNOWN_FIELDS.has(key) || key in out) {
        return yield* fail(
          ["request", index, "extraFields", key],
          key,
          `"${key}" is a typed field: set it directly, not through extraFields`
        )
      }
      out[key] = value
    }
    if (options.requestreference !== undefined) out.requestreference = options.requestreference
    return out
  })

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
): Effect.Effect<string, ParseResult.ParseError> =>
  Effect.gen(function*() {
    const items: Array<Record<string, unknown>> = []
    for (let i = 0; i < envelope.request.length; i++) items.push(yield* encodeItem(envelope.request[i], i, options))
    const library = options.libraryversion === undefined ? LIBRARY_VERSION : options.libraryversion
    return JSON.stringify({
      alias: envelope.alias,
      version: VERSION,
      request: items,
      ...(library === false ? {} : { libraryversion: library })
    })
  })

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
