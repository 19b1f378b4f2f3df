/**
 * E1: two merchants in one app, each with its own GatewayClient, connection and credentials, over
 * two simulators (real DNS, real TLS). Each simulator sees only its own merchant's requests and
 * user; a rejected user is reported as credentials given in code.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ConnectionService from "@stpp/connect/ConnectionService"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Simulator from "../../simulator/src/Simulator.js"
import * as GatewayClient from "../src/GatewayClient.js"

type Client = GatewayClient.GatewayClient["Type"]
class MerchantA extends Context.Tag("test/gateway/MerchantA")<MerchantA, Client>() {}
class MerchantB extends Context.Tag("test/gateway/MerchantB")<MerchantB, Client>() {}

const VISA = "4111111111111111"

const merchant = <Self>(tag: Context.Tag<Self, Client>, sim: Simulator.Simulator, password = sim.password) =>
  Layer.effect(tag, GatewayClient.GatewayClient).pipe(
    Layer.provide(GatewayClient.layer({
      username: sim.username,
      password: Redacted.make(password),
      sitereference: sim.sitereference
    })),
    Layer.provide(ConnectionService.layerWith({
      url: sim.url,
      nameservers: sim.nameservers,
      caFiles: [sim.caFile],
      trustStore: "only",
      dnsDiscovery: false,
      connectTimeout: "2s",
      retryTimeout: "5s",
      ioTimeout: "3s",
      maxRetries: 2,
      logLevel: "warning"
    }))
  )

const pay = (client: Client, orderreference: string) =>
  client.auth({
    orderreference,
    baseamount: "1050",
    currencyiso3a: "GBP",
    accounttypedescription: "ECOM",
    pan: Redacted.make(VISA),
    expirydate: Redacted.make("12/2030"),
    securitycode: Redacted.make("123")
  })

const startTwo = Effect.all([
  Simulator.start({ addresses: ["127.0.0.91", "127.0.0.92"], username: "ws-a@example.test", password: "pw-a-7" }),
  Simulator.start({ addresses: ["127.0.0.93", "127.0.0.94"], username: "ws-b@example.test", password: "pw-b-8" })
])

const users = (sim: Simulator.Simulator) => sim.gateway.requestLog().map((r) => [r.username, r.authenticated])

describe("GatewayClient: several merchants in one app (E1)", () => {
  it.scopedLive("E1: each merchant's AUTH reaches only its own gateway, with its own user", () =>
    Effect.gen(function*() {
      const [a, b] = yield* startTwo
      const context = yield* Layer.build(Layer.mergeAll(merchant(MerchantA, a), merchant(MerchantB, b)))
      const [outA, outB] = yield* Effect.all([
        pay(Context.get(context, MerchantA), "order-a-1"),
        pay(Context.get(context, MerchantB), "order-b-1")
      ], { concurrency: 2 })
      expect([outA._tag, outB._tag]).toEqual(["Authorised", "Authorised"])
      expect(users(a)).toEqual([["ws-a@example.test", true]])
      expect(users(b)).toEqual([["ws-b@example.test", true]])
      expect(a.transactions().map((t) => t.orderreference)).toEqual(["order-a-1"])
      expect(b.transactions().map((t) => t.orderreference)).toEqual(["order-b-1"])
    }))

  it.scopedLive("E1: wrong credentials on B are Unauthenticated from code; A is untouched", () =>
    Effect.gen(function*() {
      const [a, b] = yield* startTwo
      const context = yield* Layer.build(
        Layer.mergeAll(merchant(MerchantA, a), merchant(MerchantB, b, "not-b-password"))
      )
      const error = yield* Effect.flip(pay(Context.get(context, MerchantB), "order-b-2"))
      expect(error._tag).toBe("Unauthenticated")
      if (error._tag !== "Unauthenticated") return
      expect(error.credentialsFrom).toBe("code")
      expect(error.username).toBe("ws-b@example.test")
      expect(error.message).toContain("given in code")
      expect(error.message).not.toContain("STPP_USERNAME")
      expect(error.message).not.toContain("not-b-password")
      expect(users(b)).toEqual([["ws-b@example.test", false]])
      expect(a.gateway.requestLog()).toEqual([])
      const ok = yield* pay(Context.get(context, MerchantA), "order-a-2")
      expect(ok._tag).toBe("Authorised")
      expect(users(a)).toEqual([["ws-a@example.test", true]])
    }))
})
