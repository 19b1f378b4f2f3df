/**
 * E1: two merchants in one app, each with its own GatewayClient, connection and credentials, over
 * two simulators (real DNS, real TLS). Each simulator sees only its own merchant's requests and
 * user; a rejected user is reported as credentials given in code.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ConnectionConfig from "@stpp/connect/ConnectionConfig"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Simulator from "../../simulator/src/Simulator.js"
import * as GatewayClient from "../src/GatewayClient.js"

type Client = GatewayClient.GatewayClient["Type"]
class MerchantA extends GatewayClient.Tag("test/gateway/MerchantA")<MerchantA>() {}
class MerchantB extends GatewayClient.Tag("test/gateway/MerchantB")<MerchantB>() {}

const VISA = "4111111111111111"

const connectionOf = (sim: Simulator.Simulator): ConnectionConfig.ConnectionSettingsInput =>
  Simulator.settings(sim, { maxRetries: 2, logLevel: "warning" })

const optionsOf = (sim: Simulator.Simulator, password = sim.password): GatewayClient.WithOptions => ({
  connection: connectionOf(sim),
  credentials: { username: sim.username, password: Redacted.make(password), sitereference: sim.sitereference }
})

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
      const context = yield* Layer.build(Layer.mergeAll(MerchantA.layer(optionsOf(a)), MerchantB.layer(optionsOf(b))))
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
        Layer.mergeAll(MerchantA.layer(optionsOf(a)), MerchantB.layer(optionsOf(b, "not-b-password")))
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

  it.scopedLive("E1: code asks for the app's own tags; each tag's layer is a new client per call", () =>
    Effect.gen(function*() {
      const [a, b] = yield* startTwo
      const program = Effect.gen(function*() {
        const clientA: Client = yield* MerchantA
        const clientB: Client = yield* MerchantB
        expect(clientA).not.toBe(clientB)
        return yield* Effect.all([pay(clientB, "order-b-3"), pay(clientA, "order-a-3")])
      })
      // The same options twice still give two layers (two connections): never merged by memoisation.
      expect(MerchantA.layer(optionsOf(a))).not.toBe(MerchantA.layer(optionsOf(a)))
      const outcomes = yield* Effect.provide(
        program,
        Layer.mergeAll(MerchantA.layer(optionsOf(a)), MerchantB.layer(optionsOf(b)))
      )
      expect(outcomes.map((o) => o._tag)).toEqual(["Authorised", "Authorised"])
      expect(a.transactions().map((t) => t.orderreference)).toEqual(["order-a-3"])
      expect(b.transactions().map((t) => t.orderreference)).toEqual(["order-b-3"])
    }))

  it.scopedLive("E1: makeWith and layerWith give a client with its own connection, bound where the app wants", () =>
    Effect.gen(function*() {
      const [a, b] = yield* startTwo
      const clientA = yield* GatewayClient.makeWith(optionsOf(a))
      const clientB = Context.get(
        yield* Layer.build(GatewayClient.layerWith(optionsOf(b))),
        GatewayClient.GatewayClient
      )
      yield* pay(clientA, "order-a-4")
      yield* pay(clientB, "order-b-4")
      expect(users(a)).toEqual([["ws-a@example.test", true]])
      expect(users(b)).toEqual([["ws-b@example.test", true]])
      const rejected = yield* GatewayClient.makeWith(optionsOf(a, "wrong-a")).pipe(
        Effect.flatMap((client) => pay(client, "order-a-5")),
        Effect.flip
      )
      expect(rejected._tag).toBe("Unauthenticated")
      if (rejected._tag === "Unauthenticated") expect(rejected.credentialsFrom).toBe("code")
    }))

  it.scopedLive("E1: layerConfig reads each merchant's connection and credentials under its own prefix", () =>
    Effect.gen(function*() {
      const [a, b] = yield* startTwo
      const env = new Map<string, string>()
      for (const [prefix, sim] of [["MERCHANT_A", a], ["MERCHANT_B", b]] as const) {
        env.set(`${prefix}_STPP_URL`, sim.url)
        env.set(`${prefix}_STPP_NAMESERVERS`, sim.nameservers.join(","))
        env.set(`${prefix}_STPP_CA_FILE`, sim.caFile)
        env.set(`${prefix}_STPP_TRUST_STORE`, "only")
        env.set(`${prefix}_STPP_DNS_DISCOVERY`, "false")
        env.set(`${prefix}_STPP_USERNAME`, sim.username)
        env.set(`${prefix}_STPP_SITE_REFERENCE`, sim.sitereference)
        env.set(`${prefix}_STPP_PASSWORD`, prefix === "MERCHANT_B" ? "not-b-password" : sim.password)
      }
      const fromPrefix = (prefix: string) => ({
        connection: Config.nested(ConnectionConfig.config, prefix),
        credentials: Config.nested(GatewayClient.credentialsConfig, prefix)
      })
      const context = yield* Layer.build(
        Layer.mergeAll(MerchantA.layerConfig(fromPrefix("MERCHANT_A")), MerchantB.layerConfig(fromPrefix("MERCHANT_B")))
      ).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(env, { pathDelim: "_" })))
      const ok = yield* pay(Context.get(context, MerchantA), "order-a-6")
      expect(ok._tag).toBe("Authorised")
      const error = yield* Effect.flip(pay(Context.get(context, MerchantB), "order-b-6"))
      expect(error._tag).toBe("Unauthenticated")
      if (error._tag === "Unauthenticated") {
        // Read under the prefix: the advice names the merchant's own variables.
        expect(error.credentialsFrom).toBe("config")
        expect(error.variables).toEqual({ username: "MERCHANT_B_STPP_USERNAME", password: "MERCHANT_B_STPP_PASSWORD" })
        expect(error.message).toContain("check MERCHANT_B_STPP_USERNAME and MERCHANT_B_STPP_PASSWORD")
        expect(error.message).not.toContain("not-b-password")
      }
      expect(users(a)).toEqual([["ws-a@example.test", true]])
      expect(users(b)).toEqual([["ws-b@example.test", false]])
    }))

  it.effect("credentialsConfig names the variables it read, with and without a prefix", () =>
    Effect.gen(function*() {
      const env = new Map([
        ["STPP_USERNAME", "ws@example.test"],
        ["STPP_PASSWORD", "pw-plain"],
        ["EU_MERCHANT_B_STPP_USERNAME", "ws-b@example.test"],
        ["EU_MERCHANT_B_STPP_PASSWORD", "pw-b"]
      ])
      const read = <A>(config: Config.Config<A>) =>
        Effect.withConfigProvider(config, ConfigProvider.fromMap(env, { pathDelim: "_" }))
      const plain = yield* read(GatewayClient.credentialsConfig)
      expect(plain.variables).toEqual({ username: "STPP_USERNAME", password: "STPP_PASSWORD" })
      const nested = yield* read(Config.nested(Config.nested(GatewayClient.credentialsConfig, "MERCHANT_B"), "EU"))
      expect(nested.username).toBe("ws-b@example.test")
      expect(nested.variables).toEqual({
        username: "EU_MERCHANT_B_STPP_USERNAME",
        password: "EU_MERCHANT_B_STPP_PASSWORD"
      })
    }))

  it.effect("credentialsConfig names the variables as the ConfigProvider spells them: its delimiter, case and prefix", () =>
    Effect.gen(function*() {
      const values = { username: "ws-b@example.test", password: "pw-b" }
      const underB = Config.nested(Config.nested(GatewayClient.credentialsConfig, "merchantB"), "eu")
      const variablesWith = (provider: ConfigProvider.ConfigProvider) =>
        Effect.withConfigProvider(underB, provider).pipe(
          Effect.tap((c) => expect(c.username).toBe(values.username)),
          Effect.map((c) => c.variables)
        )
      // fromMap's own delimiter (".")
      const dotted = yield* variablesWith(ConfigProvider.fromMap(
        new Map([["eu.merchantB.STPP_USERNAME", values.username], ["eu.merchantB.STPP_PASSWORD", values.password]])
      ))
      expect(dotted).toEqual({ username: "eu.merchantB.STPP_USERNAME", password: "eu.merchantB.STPP_PASSWORD" })
      // constantCase renames every segment: camelCase prefixes become EU_MERCHANT_B
      const constant = new Map([
        ["EU_MERCHANT_B_STPP_USERNAME", values.username],
        ["EU_MERCHANT_B_STPP_PASSWORD", values.password]
      ])
      const constantCase = yield* variablesWith(
        ConfigProvider.constantCase(ConfigProvider.fromMap(constant, { pathDelim: "_" }))
      )
      expect(constantCase).toEqual({ username: "EU_MERCHANT_B_STPP_USERNAME", password: "EU_MERCHANT_B_STPP_PASSWORD" })
      // the provider's own prefix (ConfigProvider.nested) comes first, before the Config's
      const app = new Map([
        ["APP__EU__MERCHANT_B__STPP_USERNAME", values.username],
        ["APP__EU__MERCHANT_B__STPP_PASSWORD", values.password]
      ])
      const prefixed = yield* variablesWith(
        ConfigProvider.fromMap(app, { pathDelim: "__" }).pipe(
          ConfigProvider.constantCase,
          ConfigProvider.nested("APP")
        )
      )
      // fromMap joins every segment with "__": the names are those of the map
      expect(prefixed).toEqual({
        username: "APP__EU__MERCHANT_B__STPP_USERNAME",
        password: "APP__EU__MERCHANT_B__STPP_PASSWORD"
      })
    }))

  it.effect("credentialsConfig names the variables of the environment (fromEnv, a custom delimiter)", () =>
    Effect.gen(function*() {
      const names = ["RVW_MERCHANT_C__STPP_USERNAME", "RVW_MERCHANT_C__STPP_PASSWORD"]
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          process.env[names[0]] = "ws-c@example.test"
          process.env[names[1]] = "pw-c"
        }),
        () => Effect.sync(() => names.forEach((name) => delete process.env[name]))
      )
      const credentials = yield* Effect.withConfigProvider(
        Config.nested(GatewayClient.credentialsConfig, "RVW_MERCHANT_C"),
        ConfigProvider.fromEnv({ pathDelim: "__" })
      )
      expect(credentials.username).toBe("ws-c@example.test")
      expect(credentials.variables).toEqual({ username: names[0], password: names[1] })
    }).pipe(Effect.scoped))
})
