import { describe, expect, it } from "@effect/vitest"
import { OutcomeUnknown } from "@stpp/connect/ConnectionError"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as GatewayClient from "../src/GatewayClient.js"

const card = {
  pan: Redacted.make("4111111111111111"),
  expirydate: Redacted.make("12/2030"),
  securitycode: Redacted.make("123")
}

describe("GatewayClient.layerTest", () => {
  it.effect("an app's unit test: AUTH authorised by the fake gateway, requests read back without card data", () =>
    Effect.gen(function*() {
      const gateway = yield* GatewayClient.GatewayClient
      const test = yield* GatewayClient.TestGateway
      const outcome = yield* gateway.auth({
        baseamount: "1050",
        currencyiso3a: "GBP",
        accounttypedescription: "ECOM",
        orderreference: "order-1",
        ...card
      })
      expect(outcome._tag).toBe("Authorised")
      const seen = yield* test.requests
      expect(seen.length).toBe(1)
      const text = JSON.stringify(seen)
      expect(text.includes("4111111111111111")).toBe(false)
      expect(text.includes("12/2030")).toBe(false)
      expect(seen[0].baseamount).toBe("1050")
    }).pipe(Effect.provide(GatewayClient.layerTest)))

  it.effect("a scripted decline and an OutcomeUnknown recovered by the lookup", () =>
    Effect.gen(function*() {
      const gateway = yield* GatewayClient.GatewayClient
      const test = yield* GatewayClient.TestGateway
      const input = { baseamount: "100", currencyiso3a: "GBP", accounttypedescription: "ECOM", ...card }
      // the first AUTH reaches the gateway, then the connection fails after sending
      const first = yield* gateway.auth({ ...input, orderreference: "order-2" })
      expect(first._tag).toBe("Authorised")
      yield* test.failNext(
        new OutcomeUnknown({
          host: "webservices.securetrading.test",
          address: "127.0.0.1",
          phase: "awaiting",
          bytesWritten: 700,
          reason: "reset",
          elapsedMillis: 5,
          attempts: 1,
          reference: undefined
        })
      )
      const recovered = yield* gateway.lookupAfterOutcomeUnknown("order-2")
        .pipe(Effect.flip, Effect.flatMap(() => gateway.lookupAfterOutcomeUnknown("order-2")))
      expect(recovered.found).toBe(1)
      yield* test.answerWith(() => ({ errorcode: "70000", errormessage: "Decline" }))
      const declined = yield* gateway.auth({ ...input, orderreference: "order-3" })
      expect(declined._tag).toBe("Declined")
    }).pipe(Effect.provide(GatewayClient.layerTest)))
})
