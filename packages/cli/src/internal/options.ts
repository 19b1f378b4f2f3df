/**
 * The command-line options that override `STPP_*` settings, as `@effect/cli` options with their
 * help text (apart from `settings.ts`, so that the request's own work loads no `@effect/cli`).
 *
 * @internal
 */
import * as Options from "@effect/cli/Options"
import * as Option from "effect/Option"
import { SETTING_OPTIONS, settingOf, type SettingOption } from "./settings.js"

const describeOption = (o: SettingOption): string => {
  const setting = settingOf(o.env)
  const allowed = o.allowed ?? setting?.allowed ?? ""
  const meaning = setting?.description ?? ""
  return `${meaning}. Overrides ${o.env}. Allowed: ${allowed}.`
}

/** A single-valued option that overrides a setting, with its help text. */
export const single = (name: string): Options.Options<Option.Option<string>> => {
  const o = SETTING_OPTIONS.find((x) => x.name === name)!
  return Options.text(name).pipe(
    Options.withPseudoName(o.pseudo),
    Options.withDescription(describeOption(o)),
    Options.optional
  )
}

/**
 * A repeatable option that overrides a list setting, with its help text. Zero times is allowed (an
 * empty array: not given); `Options.optional` only makes the usage say so (`[--ca FILE...]`), as
 * `@effect/cli` shows a bare `Options.repeated` as if it were required.
 */
export const repeated = (name: string): Options.Options<Array<string>> => {
  const o = SETTING_OPTIONS.find((x) => x.name === name)!
  return Options.text(name).pipe(
    Options.withPseudoName(o.pseudo),
    Options.withDescription(describeOption(o)),
    Options.repeated,
    Options.optional,
    Options.map(Option.getOrElse((): Array<string> => []))
  )
}
