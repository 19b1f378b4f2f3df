/**
 * A payment through the typed gateway client, with the connection service underneath.
 *
 * Configuration comes from the environment (`STPP_URL`, `STPP_USERNAME`, `STPP_PASSWORD`,
 * `STPP_SITE_REFERENCE`, ...). Against the local simulator:
 *
 *   node packages/simulator/dist/bin.js > /tmp/sim.env &   # starts it, prints the environment
 *   set -a; . /tmp/sim.env; set +a
 *   node examples/build/payment.js
 */
import { ConnectionService } from "@stpp/connect"
import { GatewayClient } from "@stpp/gateway"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

const Live = GatewayClient.layerConfig.pipe(Layer.provideMerge(ConnectionService.layer))

const program = Effect.gen(function*() {
  const gateway = yield* GatewayClient.GatewayClient
  // AUTH, and if the outcome is unknown, a TRANSACTIONQUERY by order reference: never a second charge
  const outcome = yield* gateway.authOrLookup({
    orderreference: "order-1001",
    baseamount: "1050",
    currencyiso3a: "GBP",
    accounttypedescription: "ECOM",
    pan: Redacted.make("4111111111111111"),
    expirydate: Redacted.make("12/2030"),
    securitycode: Redacted.make("123")
  })
  yield* Effect.log(outcome._tag) // "Authorised" | "Declined"
})

// Errors are logged through the redacting logger the layer installs; the exit code says it failed.
Effect.runPromiseExit(program.pipe(Effect.tapErrorCause(Effect.logError), Effect.provide(Live))).then((exit) => {
  if (exit._tag === "Failure") process.exitCode = 1
})
