/**
 * The request envelope `{"alias", "version": "1.00", "request": [...]}` and its wire form. Encoding
 * is the one place where card fields are revealed.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
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
 * The envelope as wire JSON text (card fields revealed here, and only here).
 *
 * @since 0.1.0
 * @category schemas
 */
export const RequestEnvelopeFromJson = Schema.parseJson(RequestEnvelope)

/**
 * Encodes an envelope into its wire JSON text. Fails only if a value breaks its schema (a
 * `ParseError` that never holds the card values: they are `Redacted`).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (envelope: RequestEnvelope): Effect.Effect<string, ParseResult.ParseError> =>
  Schema.encode(RequestEnvelopeFromJson)(envelope)

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
