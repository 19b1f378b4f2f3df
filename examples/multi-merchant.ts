/**
 * Two merchants in one app (E1): each has its own gateway connection (url, DNS servers, trust
 * store) and its own web-services user, under the app's own tags made with `GatewayClient.Tag`.
 * Every `MerchantA.layer(...)` call is a new client with a new connection, so the two can never be
 * merged by Effect's layer memoisation; the two share one redacting logger (each line once).
 *
 * It starts two local gateway simulators (each its own CA, DNS server and user) and pays once
 * through each, over real DNS and real TLS. Run: pnpm build && node examples/build/multi-merchant.js
 */
import { GatewayClient } from "@stpp/gateway"
import { Simulator } from "@stpp/simulator"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

// One tag per merchant, each holding a GatewayClient with its own connection.
class MerchantA extends GatewayClient.Tag("app/MerchantA")<MerchantA>() {}
class MerchantB extends GatewayClient.Tag("app/MerchantB")<MerchantB>() {}

// In an app these come from its own configuration (or `MerchantB.layerConfig` under a prefix);
// here from the two simulators.
const optionsOf = (sim: Simulator.Simulator): GatewayClient.WithOptions => ({
  connection: Simulator.settings(sim),
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
  const App = Layer.mergeAll(MerchantA.layer(optionsOf(simA)), MerchantB.layer(optionsOf(simB)))
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
