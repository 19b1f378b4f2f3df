/**
 * The `stpp` executable: runs `Cli.run` (or, for a plain `stpp request` line, its handler directly:
 * `internal/direct.ts`) on Node and exits with its code.
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import * as Redact from "@stpp/connect/Redact"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Direct from "./internal/direct.js"

// Colour only for a person at a terminal, and never when NO_COLOR is set (https://no-color.org).
const color = process.stdout.isTTY === true && (process.env.NO_COLOR ?? "") === ""

// What the commands use of the platform (files, paths, the terminal for @effect/cli), not all of
// NodeContext: its command executor and worker manager load node's child_process and more at
// start (P2).
const platform = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer)

// A plain `stpp request --body FILE ...` runs without @effect/cli (internal/direct.ts); every other
// command line goes through the full command, loaded only then.
const direct = Direct.parse(process.argv.slice(2))
const main = direct !== undefined
  ? Direct.run(direct)
  : Effect.flatMap(Effect.promise(() => import("./Cli.js")), (Cli) => Cli.run(process.argv, { color }))

NodeRuntime.runMain(main.pipe(Effect.provide(platform)), {
  disableErrorReporting: true,
  disablePrettyLogger: true,
  teardown: (exit) => {
    const code = Exit.isSuccess(exit)
      ? Number(exit.value)
      : Cause.isInterruptedOnly(exit.cause)
      ? 130
      : 1
    if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) {
      // Redacted like everything else the command prints (L1): a cause may hold any value.
      process.stderr.write(`stpp: unexpected failure: ${Redact.prettyCause(exit.cause).split("\n")[0]}\n`)
    }
    process.exitCode = code
    // Everything was closed with the scope: exit once stdout and stderr are flushed, instead of
    // waiting for node to notice an empty event loop (~90 ms idle after one request, P2).
    process.stdout.write("", () => process.stderr.write("", () => process.exit(code)))
  }
})
