/**
 * P1: the fast paths of encoding a request and decoding a response give exactly Schema's answer,
 * value and error alike, for generated request items and responses of every type, and for values
 * broken in the ways callers and gateways break them.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Envelope from "../src/Envelope.js"
import * as Requests from "../src/Requests.js"
import * as Responses from "../src/Responses.js"

const TYPES = [
  ["AUTH"],
  ["ACCOUNTCHECK"],
  ["REFUND"],
  ["TRANSACTIONQUERY"],
  ["TRANSACTIONUPDATE"],
  ["THREEDQUERY"],
  ["RISKDEC"],
  ["SUBSCRIPTION"],
  ...Requests.CHAINS
] as const

/** What Schema alone answers for one item (the encoder before the fast path), as text. */
const bySchema = (item: unknown): string => {
  const types = (item as { requesttypedescriptions: ReadonlyArray<string> }).requesttypedescriptions
  const encoded = Schema.encodeUnknownEither(Requests.schemaFor(types)!, { onExcessProperty: "error" })(item)
  return Either.isLeft(encoded)
    ? `error ${ParseResult.TreeFormatter.formatErrorSync(encoded.left)}`
    : JSON.stringify(encoded.right)
}

/** What the fast path answers for the same item, as text (the item without the envelope's additions). */
const byFastPath = (item: unknown): string => {
  const text = Envelope.encodeEither(Envelope.make("alias", [item as Requests.Request]), { libraryversion: false })
  if (Either.isLeft(text)) {
    // the envelope's error points into request[0]: compare the item's own issue
    const issue = text.left.issue as ParseResult.Pointer
    return `error ${ParseResult.TreeFormatter.formatIssueSync(issue.issue)}`
  }
  const { extraFields: _, ...item0 } = JSON.parse(text.right).request[0]
  return JSON.stringify(item0)
}

// Only items without extraFields or TRANSACTIONUPDATE's `updates`: those the envelope rewrites.
const plainItem = (u: Record<string, unknown>): Record<string, unknown> => {
  const { extraFields: _, updates: __, ...rest } = u
  return rest
}

const breakings: ReadonlyArray<readonly [string, (u: Record<string, unknown>) => Record<string, unknown>]> = [
  ["an unknown key", (u) => ({ ...u, billingfirstnme: "Ada" })],
  ["a number for a string", (u) => ({ ...u, orderreference: 1050 })],
  ["undefined in an optional field", (u) => ({ ...u, orderreference: undefined })],
  ["a bad amount", (u) => ({ ...u, baseamount: "10.50" })],
  ["a lower-case currency", (u) => ({ ...u, currencyiso3a: "gbp" })],
  ["a card number not Redacted", (u) => ({ ...u, pan: "4111111111111111" })],
  ["a Redacted number", (u) => ({ ...u, pan: Redacted.make(4111) })],
  ["no site reference", ({ sitereference: _, ...u }) => u]
]

describe("schemaFast: request items", () => {
  for (const types of TYPES) {
    const schema = Requests.schemaFor(types)!
    const items = Arbitrary.make(schema).map((u) => plainItem(u as Record<string, unknown>))
    it(`P1: ${types.join("+")}: the same wire item as Schema, in the same key order`, () => {
      FastCheck.assert(
        FastCheck.property(items, (item) => {
          expect(byFastPath(item)).toBe(bySchema(item))
        }),
        { numRuns: 150 }
      )
    })
    it(`P1: ${types.join("+")}: a broken item fails with Schema's own error`, () => {
      FastCheck.assert(
        FastCheck.property(items, FastCheck.constantFrom(...breakings), (item, [, breakIt]) => {
          const broken = breakIt(item)
          const fast = byFastPath(broken)
          expect(fast).toBe(bySchema(broken))
        }),
        { numRuns: 150 }
      )
    })
  }

  it("P1: the card values reach the wire and only there", () => {
    const text = Envelope.encodeEither(
      Envelope.make("alias", [{
        requesttypedescriptions: ["AUTH"],
        sitereference: "site",
        baseamount: "1050",
        currencyiso3a: "GBP",
        accounttypedescription: "ECOM",
        pan: Redacted.make("4111111111111111"),
        expirydate: Redacted.make("12/2030"),
        securitycode: Redacted.make("123")
      }]),
      { requestreference: "Aref" }
    )
    expect(Either.getOrThrow(text)).toContain("\"pan\":\"4111111111111111\"")
  })
})

describe("schemaFast: response envelopes", () => {
  // the decoder the client and the command use
  const decodeFast = Responses.decodeEnvelope
  const decodeSchema = Schema.decodeUnknownEither(Responses.ResponseEnvelope)
  const answer = (e: Either.Either<unknown, ParseResult.ParseError>) =>
    Either.isLeft(e) ? `error ${ParseResult.TreeFormatter.formatErrorSync(e.left)}` : e.right

  it("P1: generated envelopes decode to what Schema decodes", () => {
    FastCheck.assert(
      FastCheck.property(Arbitrary.make(Responses.ResponseEnvelope), (envelope) => {
        const json = JSON.parse(JSON.stringify(envelope))
        expect(answer(decodeFast(json))).toEqual(answer(decodeSchema(json)))
      }),
      { numRuns: 500 }
    )
  })

  it("P1: anything else a gateway could send gets Schema's answer", () => {
    const item = FastCheck.dictionary(
      FastCheck.constantFrom("errorcode", "errormessage", "errordata", "records", "found", "x", "requestreference"),
      FastCheck.oneof(
        FastCheck.string(),
        FastCheck.integer(),
        FastCheck.constant(null),
        FastCheck.array(FastCheck.string())
      )
    )
    const envelope = FastCheck.oneof(
      FastCheck.anything(),
      FastCheck.record({
        requestreference: FastCheck.oneof(FastCheck.string(), FastCheck.integer()),
        version: FastCheck.string(),
        response: FastCheck.oneof(FastCheck.array(item), FastCheck.string())
      }, { requiredKeys: [] })
    )
    FastCheck.assert(
      FastCheck.property(envelope, (u) => {
        expect(answer(decodeFast(u))).toEqual(answer(decodeSchema(u)))
      }),
      { numRuns: 500 }
    )
  })
})
