import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Envelope from "../src/Envelope.js"
import * as Requests from "../src/Requests.js"
import * as Responses from "../src/Responses.js"

const PAN = "4111111111111111"
const CVV = "123"
const EXPIRY = "12/2030"

const wireAuth = {
  requesttypedescriptions: ["AUTH"],
  sitereference: "test_site1",
  baseamount: "1050",
  currencyiso3a: "GBP",
  accounttypedescription: "ECOM",
  orderreference: "order-1",
  pan: PAN,
  expirydate: EXPIRY,
  securitycode: CVV
}

describe("Requests", () => {
  it.effect("L1: decoded card fields are Redacted: String(), JSON.stringify and inspect never show them", () =>
    Effect.gen(function*() {
      const auth = yield* Schema.decodeUnknown(Requests.Auth)(wireAuth)
      expect(Redacted.isRedacted(auth.pan)).toBe(true)
      expect(Redacted.value(auth.pan!)).toBe(PAN)
      const shown = [String(auth.pan), JSON.stringify(auth), String(JSON.stringify({ auth })), `${auth.securitycode}`]
      for (const text of shown) {
        expect(text.includes(PAN)).toBe(false)
        expect(text.includes(EXPIRY)).toBe(false)
        expect(text).not.toMatch(/"securitycode":"123"/)
      }
      expect(JSON.stringify(auth)).toContain("<redacted>")
    }))

  it.effect("the wire JSON (and only the wire JSON) reveals the card fields", () =>
    Effect.gen(function*() {
      const auth = yield* Schema.decodeUnknown(Requests.Auth)(wireAuth)
      const envelope = Envelope.make("ws@example.test", [auth])
      expect(JSON.stringify(envelope).includes(PAN)).toBe(false)
      const wire = yield* Envelope.encode(envelope)
      expect(JSON.parse(wire)).toEqual({
        alias: "ws@example.test",
        version: "1.00",
        request: [wireAuth],
        libraryversion: Envelope.LIBRARY_VERSION
      })
    }))

  it.effect("a bad field fails to encode without echoing the card values", () =>
    Effect.gen(function*() {
      const auth = yield* Schema.decodeUnknown(Requests.Auth)(wireAuth)
      const error = yield* Effect.flip(Envelope.encode(Envelope.make("u", [{ ...auth, baseamount: "10.50" }])))
      expect(error.message).toContain("baseamount")
      expect(error.message.includes(PAN)).toBe(false)
    }))

  it.effect("the request union decodes every modelled type", () =>
    Effect.gen(function*() {
      const decode = Schema.decodeUnknown(Requests.Request)
      const types = [
        wireAuth,
        { ...wireAuth, requesttypedescriptions: ["ACCOUNTCHECK"], baseamount: "0" },
        { requesttypedescriptions: ["REFUND"], sitereference: "s", parenttransactionreference: "1-9-1" },
        { requesttypedescriptions: ["TRANSACTIONQUERY"], filter: { orderreference: [{ value: "o" }] } },
        {
          requesttypedescriptions: ["TRANSACTIONUPDATE"],
          filter: { transactionreference: [{ value: "1-9-1" }] },
          updates: { settlestatus: "3" }
        }
      ]
      for (const t of types) {
        const r = yield* decode(t)
        expect(r.requesttypedescriptions).toEqual(t.requesttypedescriptions)
      }
      const bad = yield* Effect.flip(decode({ requesttypedescriptions: ["PAYOUT"] }))
      expect(bad._tag).toBe("ParseError")
    }))
})

describe("Requests: no field is dropped (G4)", () => {
  it.effect("G4: every documented AUTH field reaches the wire", () =>
    Effect.gen(function*() {
      const wire: Record<string, string> = { requesttypedescriptions: "AUTH" }
      for (const f of Requests.AUTH_FIELDS) {
        wire[f] = f === "baseamount"
          ? "1050"
          : f === "currencyiso3a"
          ? "GBP"
          : `v-${f}`
      }
      const auth = yield* Schema.decodeUnknown(Requests.Auth)({ ...wire, requesttypedescriptions: ["AUTH"] })
      const text = yield* Envelope.encode(Envelope.make("u", [auth]), { requestreference: "Aabcdefgh" })
      const item = JSON.parse(text).request[0]
      for (const f of Requests.AUTH_FIELDS) expect([f, item[f]]).toEqual([f, wire[f]])
      for (
        const f of [
          "credentialsonfile",
          "parenttransactionreference",
          "initiationreason",
          "billingstreet",
          "customerpostcode",
          "settlestatus",
          "settleduedate",
          "threedresponse",
          "cavv",
          "eci"
        ]
      ) {
        expect(Requests.AUTH_FIELDS).toContain(f)
      }
      expect(item.requestreference).toBe("Aabcdefgh")
    }))

  it.effect("G4: an unknown property fails naming it; extraFields passes verbatim; a typed name there is refused", () =>
    Effect.gen(function*() {
      const auth = yield* Schema.decodeUnknown(Requests.Auth)(wireAuth)
      const stray = { ...auth, walletsource: "APPLEPAY" } as Requests.Auth
      const error = yield* Effect.flip(Envelope.encode(Envelope.make("u", [stray])))
      expect(error.message).toContain("walletsource")
      expect(error.message.includes(PAN)).toBe(false)
      const extra = yield* Envelope.encode(Envelope.make("u", [{ ...auth, extraFields: { walletsource: "APPLEPAY" } }]))
      expect(JSON.parse(extra).request[0].walletsource).toBe("APPLEPAY")
      expect(JSON.parse(extra).request[0].extraFields).toBeUndefined()
      const typed = yield* Effect.flip(Envelope.encode(Envelope.make("u", [{ ...auth, extraFields: { pan: "x" } }])))
      expect(typed.message).toContain("typed field")
    }))

  it.effect("G5: TRANSACTIONUPDATE writes settlebaseamount (the deprecated baseamount is written under that name)", () =>
    Effect.gen(function*() {
      const update: Requests.TransactionUpdate = {
        requesttypedescriptions: ["TRANSACTIONUPDATE"],
        filter: Requests.toFilter({ transactionreference: "1-9-1" }),
        updates: { baseamount: "500" }
      }
      const item = JSON.parse(yield* Envelope.encode(Envelope.make("u", [update]))).request[0]
      expect(item.updates).toEqual({ settlebaseamount: "500" })
      expect(item.filter).toEqual({ transactionreference: [{ value: "1-9-1" }] })
    }))

  it("G5: plain filter values, several values and dates become the wire shape", () => {
    expect(Requests.toFilter({
      orderreference: ["a", "b"],
      starttimestamp: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
      endtimestamp: "2026-01-03 00:00:00"
    })).toEqual({
      orderreference: [{ value: "a" }, { value: "b" }],
      starttimestamp: [{ value: "2026-01-02 03:04:05" }],
      endtimestamp: [{ value: "2026-01-03 00:00:00" }]
    })
  })
})

describe("Responses", () => {
  it.effect("the envelope keeps fields the client does not name", () =>
    Effect.gen(function*() {
      const text = JSON.stringify({
        requestreference: "Aabcdefgh",
        version: "1.00",
        secrand: "xyz",
        response: [{ errorcode: "0", errormessage: "Ok", transactionreference: "1-9-1", issuercountryiso2a: "GB" }]
      })
      const decoded = yield* Schema.decodeUnknown(Responses.ResponseEnvelopeFromJson)(text)
      expect(decoded.secrand).toBe("xyz")
      expect(decoded.response[0].issuercountryiso2a).toBe("GB")
      expect(decoded.response[0].transactionreference).toBe("1-9-1")
    }))

  it("G3: foreignReference names the first requestreference that is not the one sent", () => {
    const envelope = (top: string, ...items: Array<string | undefined>): Responses.ResponseEnvelope => ({
      requestreference: top,
      version: "1.00",
      response: items.map((r) => r === undefined ? { errorcode: "0" } : { errorcode: "0", requestreference: r })
    })
    expect(Responses.foreignReference(envelope("Aabc", "Aabc", undefined), "Aabc")).toBeUndefined()
    expect(Responses.foreignReference(envelope("Axyz", "Aabc"), "Aabc")).toBe("Axyz")
    expect(Responses.foreignReference(envelope("Aabc", "Aabc", "Aother", "Alast"), "Aabc")).toBe("Aother")
  })

  it("upstream codes are 50000-50014 and 60020", () => {
    expect(["50000", "50007", "50014", "60020"].every(Responses.isUpstreamCode)).toBe(true)
    expect(["49999", "50015", "60022", "70000", "0", "x"].some(Responses.isUpstreamCode)).toBe(false)
  })
})
