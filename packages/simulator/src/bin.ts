/**
 * Starts the gateway simulator and prints the environment a client needs, for developers:
 * `node packages/simulator/dist/bin.js` then `export` the printed lines in another shell.
 * Stops on Ctrl-C.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Simulator from "./Simulator.js"

const program = Effect.gen(function*() {
  const port = process.env.STPP_SIMULATOR_PORT
  const sim = yield* Simulator.start(port === undefined ? {} : { port: Number(port) })
  yield* Console.log(`# stpp gateway simulator: ${sim.hostname} on ${sim.addresses.join(", ")} port ${sim.port}`)
  yield* Console.log(`# DNS ${sim.nameservers.join(", ")}; CA root ${sim.caFile}; Ctrl-C stops`)
  for (const [name, value] of Object.entries(sim.env)) yield* Console.log(`export ${name}=${JSON.stringify(value)}`)
  return yield* Effect.never
})

NodeRuntime.runMain(Effect.scoped(program))
