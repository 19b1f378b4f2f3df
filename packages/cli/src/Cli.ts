/**
 * The `stpp` command: `request`, `doctor` and `demo`, on `@effect/cli`. `run` turns the argument
 * list into an exit code; `bin.ts` runs it on Node.
 *
 * @since 0.1.0
 */
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Demo from "./Demo.js"
import * as Doctor from "./Doctor.js"
import { CliContext, scanLogLevel, withRedactingConsole } from "./internal/context.js"
import * as Help from "./internal/help.js"
import * as InternalVersion from "./internal/version.js"
import * as Request from "./Request.js"

/**
 * The version printed by `--version`.
 *
 * @since 0.1.0
 * @category models
 */
export const VERSION: string = InternalVersion.VERSION

/**
 * The root command and its subcommands.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("stpp").pipe(
  Command.withDescription(
    "Talk to the Secure Trading gateway the way the library does: send a request, check DNS and TLS, " +
      "or run the demo. " +
      "Every command takes --help; --version prints the version."
  ),
  Command.withSubcommands([Request.command, Doctor.command, Demo.command])
)

const program: Help.Program = { name: "stpp", version: VERSION }

const cli = Command.run(command, program)

// The built-in options (--help, --version, --log-level, ...) still work; the help lists each
// command's own options only.
const config = CliConfig.make({ showBuiltIns: false })

/**
 * How `run` prints.
 *
 * @since 0.1.0
 * @category running
 */
export interface RunOptions {
  /**
   * Help with ANSI styles (bold headings). Default false: plain text. `bin.ts` sets it when
   * standard output is a terminal and `NO_COLOR` is not set.
   */
  readonly color?: boolean | undefined
}

/**
 * Runs the command line (`process.argv`: the runtime and the script come first) and returns the
 * exit code: 2 for bad usage (the message is on standard error), otherwise the command's own.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (argv: ReadonlyArray<string>, options: RunOptions = {}) =>
  // Everything the command prints leaves through one redacting Console (L1).
  withRedactingConsole(runCommand(argv, options))

const runCommand = (argv: ReadonlyArray<string>, options: RunOptions) =>
  Effect.gen(function*() {
    const args = argv.slice(2)
    if (args.some((a) => a === "--help" || a === "-h")) {
      const help = yield* Help.find(command.descriptor, [program.name, ...args], config)
      if (Option.isSome(help)) {
        const page = Help.page(program, help.value.usage, help.value.helpDoc, config)
        yield* Console.log(Help.render(page, options.color === true))
        return 0
      }
    }
    const exitCode = yield* Ref.make(0)
    return yield* cli(argv).pipe(
      Effect.zipRight(Ref.get(exitCode)),
      Effect.catchIf(ValidationError.isValidationError, () => Effect.succeed(2)),
      Effect.provideService(CliContext, { exitCode, logLevel: scanLogLevel(args) }),
      Effect.provideService(CliConfig.CliConfig, config)
    )
  })
