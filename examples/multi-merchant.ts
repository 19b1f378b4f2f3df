/**
 * Two merchants in one app (E1): each has its own gateway connection (url, DNS servers, trust
 * store) and its own web-services user, bound to the app's own tags. Every call of
 * `ConnectionService.layerWith` is a new service, so the two can never be merged by Effect's
 * layer memoisation.
 *
 * It starts two local gateway simulators (each its own CA, DNS server and user) and pays once
 * through each, over real DNS and real TLS. Run: pnpm build && node examples/build/multi-merchant.js
 */
import { ConnectionConfig, ConnectionService } from "@stpp/connect"
import { GatewayClient } from "@stpp/gateway"
import { Simulator } from "@stpp/simulator"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

// One tag per merchant, each holding a GatewayClient.
class MerchantA extends Context.Tag("app/MerchantA")<MerchantA, GatewayClient.GatewayClient["Type"]>() {}
class MerchantB extends Context.Tag("app/MerchantB")<MerchantB, GatewayClient.GatewayClient["Type"]>() {}

// A merchant's client: its own connection settings and credentials, given in code.
const merchant = <Self>(
  tag: Context.Tag<Self, GatewayClient.GatewayClient["Type"]>,
  connection: ConnectionConfig.ConnectionSettingsInput,
  credentials: GatewayClient.Credentials
) =>
  Layer.effect(tag, GatewayClient.GatewayClient).pipe(
    Layer.provide(GatewayClient.layer(credentials)),
    Layer.provide(ConnectionService.layerWith(connection))
  )

// In an app these come from its own configuration; here from the two simulators.
const settingsOf = (sim: Simulator.Simulator) => ({
  connection: { url: sim.url, nameservers: sim.nameservers, caFiles: [sim.caFile], trustStore: "only" as const },
  credentials: { username: sim.username, password: Redacted.make(sim.password), sitereference: sim.sitereference }
})

const pay = (gateway: GatewayClient.GatewayClient["Type"], orderreference: string) =>
  gateway.auth({
    orderreference,
    baseamount: "1050",
    currencyiso3a: "GBP",
    accounttypedescription: "ECOM",
    pan: Redacted.make("4111111111111111"),
    expirydate: Redacted.make("12/2030"),
    securitycode: Redacted.make("123")
  })

const program = Effect.gen(function*() {
  const a = yield* MerchantA
  const b = yield* MerchantB
  const [outcomeA, outcomeB] = yield* Effect.all([pay(a, "a-1001"), pay(b, "b-2001")], { concurrency: 2 })
  yield* Effect.log(`merchant A: ${outcomeA._tag}, merchant B: ${outcomeB._tag}`)
})

const main = Effect.gen(function*() {
  const simA = yield* Simulator.start({ addresses: ["127.0.0.81"], username: "ws-a@example.test", password: "pw-a" })
  const simB = yield* Simulator.start({ addresses: ["127.0.0.82"], username: "ws-b@example.test", password: "pw-b" })
  const a = settingsOf(simA)
  const b = settingsOf(simB)
  const App = Layer.mergeAll(
    merchant(MerchantA, a.connection, a.credentials),
    merchant(MerchantB, b.connection, b.credentials)
  )
  yield* Effect.provide(program, App)
  // Each simulator saw only its own merchant's request, with that merchant's user.
  for (const [name, sim] of [["A", simA], ["B", simB]] as const) {
    const users = sim.gateway.requestLog().map((r) => r.username)
    yield* Effect.log(`simulator ${name} saw ${users.length} request(s) from ${[...new Set(users)].join(", ")}`)
    if (users.length !== 1 || users[0] !== sim.username) return yield* Effect.fail(`simulator ${name}: ${users}`)
  }
})

Effect.runPromiseExit(main.pipe(Effect.scoped, Effect.tapErrorCause(Effect.logError))).then((exit) => {
  if (exit._tag === "Failure") process.exitCode = 1
})
