/**
 * The help page (`--help`), printed here instead of by `@effect/cli` 0.77's `CliApp`, which
 *
 * - starts every option's text with its value type's generic blurb ("A user-defined piece of
 *   text.", "A true or false value."): `Options` builds a single option's help as the primitive's
 *   help followed by `withDescription`'s text, with no setting to leave the first out;
 * - always renders with ANSI escapes (`HelpDoc.toAnsiText`), also into a pipe or a file;
 * - names a subcommand's usage without the program: `$ request ...` for `stpp request --help`
 *   (the parent's name is added only when `--help` comes before the subcommand's name).
 *
 * The page is found the way `CliApp` finds it (`CommandDescriptor.parse` of the same arguments
 * with the same `CliConfig`) and built from the same `HelpDoc` and `Usage`, so it stays what
 * `@effect/cli` documents; only those three things differ. Plain text is rendered from the same
 * document with its annotations removed, not by stripping escapes from a string.
 *
 * @internal
 */
import type * as CliConfig from "@effect/cli/CliConfig"
import type * as CommandDescriptor from "@effect/cli/CommandDescriptor"
import * as Descriptor from "@effect/cli/CommandDescriptor"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Span from "@effect/cli/HelpDoc/Span"
import * as Primitive from "@effect/cli/Primitive"
import * as Usage from "@effect/cli/Usage"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Terminal from "@effect/platform/Terminal"
import * as AnsiDoc from "@effect/printer-ansi/AnsiDoc"
import * as Doc from "@effect/printer/Doc"
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

/** What the page shows besides the command's own help. */
export interface Program {
  readonly name: string
  readonly version: string
}

/** The type blurbs of the primitives these commands' options use (`Options.text`, `Options.boolean`). */
const TYPE_BLURBS: ReadonlySet<string> = new Set(
  [Primitive.getHelp(Primitive.text), Primitive.getHelp(Primitive.boolean(Option.none()))].map(spanText)
)

function spanText(span: Span.Span): string {
  switch (span._tag) {
    case "Text":
    case "URI":
      return span.value
    case "Highlight":
    case "Strong":
    case "Weak":
      return spanText(span.value)
    case "Sequence":
      return spanText(span.left) + spanText(span.right)
  }
}

/** The block without its leading type blurb, when something else remains. */
const dropBlurb = (block: HelpDoc.HelpDoc): HelpDoc.HelpDoc => {
  if (block._tag === "Sequence") {
    return HelpDoc.sequence(dropBlurb(block.left), block.right)
  }
  return block._tag === "Paragraph" && TYPE_BLURBS.has(spanText(block.value)) ? HelpDoc.empty : block
}

/**
 * Each option (and argument) shows its own description: the generic type blurb `@effect/cli` puts
 * before it is left out. An entry whose blurb is all it has keeps it.
 */
export const withoutTypeBlurbs = (doc: HelpDoc.HelpDoc): HelpDoc.HelpDoc => {
  switch (doc._tag) {
    case "DescriptionList":
      return HelpDoc.descriptionList(
        Arr.map(doc.definitions, ([term, block]): [Span.Span, HelpDoc.HelpDoc] => {
          const own = dropBlurb(block)
          return [term, HelpDoc.isEmpty(own) ? block : own]
        })
      )
    case "Sequence":
      return HelpDoc.sequence(withoutTypeBlurbs(doc.left), withoutTypeBlurbs(doc.right))
    default:
      return doc
  }
}

const firstName = (usage: Usage.Usage): string | undefined => {
  switch (usage._tag) {
    case "Named":
      return usage.names[0]
    case "Optional":
    case "Repeated":
      return firstName(usage.usage)
    case "Concat":
    case "Alternation":
      return firstName(usage.left)
    default:
      return undefined
  }
}

/** The usage with the program's name in front, when it does not start with it. */
export const fromProgram = (usage: Usage.Usage, name: string): Usage.Usage =>
  firstName(usage) === name ? usage : Usage.concat(Usage.named([name], Option.none()), usage)

/** The whole page, laid out as `CliApp` lays it out. */
export const page = (
  program: Program,
  usage: Usage.Usage,
  helpDoc: HelpDoc.HelpDoc,
  config: CliConfig.CliConfig
): HelpDoc.HelpDoc => {
  const usageLines = Usage.enumerate(fromProgram(usage, program.name), config).map((line) =>
    HelpDoc.p(Span.concat(Span.text("$ "), line))
  )
  return HelpDoc.blocks([
    HelpDoc.h1(Span.code(program.name)),
    HelpDoc.p(`${program.name} ${program.version}`),
    HelpDoc.h1("USAGE"),
    ...usageLines,
    withoutTypeBlurbs(helpDoc)
  ])
}

/** The page as text: with ANSI styles, or plain (the same layout, no escape sequences). */
export const render = (doc: HelpDoc.HelpDoc, color: boolean): string => {
  const ansi = HelpDoc.toAnsiDoc(doc)
  return color
    ? AnsiDoc.render(ansi, { style: "pretty" })
    : Doc.render(Doc.unAnnotate(ansi), { style: "pretty" })
}

const isLogLevelArg = (arg: string | undefined): boolean =>
  arg === "--log-level" || (arg !== undefined && arg.startsWith("--log-level="))

/**
 * The help `@effect/cli` would print for these arguments (the program's name first, then what
 * follows the runtime and the script), if they ask for help; none otherwise, and none when they
 * do not parse (the normal run then reports the error). A built-in `--log-level` is dropped and the
 * rest parsed again, as `CliApp` does.
 */
export const find = <A>(
  descriptor: CommandDescriptor.Command<A>,
  args: ReadonlyArray<string>,
  config: CliConfig.CliConfig
): Effect.Effect<
  Option.Option<{ readonly usage: Usage.Usage; readonly helpDoc: HelpDoc.HelpDoc }>,
  never,
  FileSystem.FileSystem | Path.Path | Terminal.Terminal
> =>
  Descriptor.parse(descriptor, args, config).pipe(
    Effect.flatMap((directive) => {
      if (directive._tag !== "BuiltIn") return Effect.succeed(Option.none())
      const option = directive.option
      switch (option._tag) {
        case "ShowHelp":
          return Effect.succeed(Option.some({ usage: option.usage, helpDoc: option.helpDoc }))
        case "SetLogLevel": {
          const rest = args.filter((a, i) => !isLogLevelArg(a) && args[i - 1] !== "--log-level")
          return rest.length < args.length ? find(descriptor, rest, config) : Effect.succeed(Option.none())
        }
        default:
          return Effect.succeed(Option.none())
      }
    }),
    Effect.orElseSucceed(() => Option.none())
  )
