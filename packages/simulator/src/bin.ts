#!/usr/bin/env node
/**
 * The `stpp-simulator` command: starts the gateway simulator and prints the environment a client
 * needs as `export` lines (`stpp-simulator > sim.env`, then `set -a; . ./sim.env; set +a` in another
 * shell; in this repository `node packages/simulator/dist/bin.js`). `STPP_SIMULATOR_PORT` fixes the
 * gateway's port (default: a free one). Stops on Ctrl-C or SIGTERM.
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
