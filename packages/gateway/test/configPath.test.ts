/**
 * The variable names an `Unauthenticated` error's advice gives for credentials read through
 * `Config` (internal/configPath): asked of the ConfigProvider in use, with the fall-backs when it
 * does not say.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as internalConfigPath from "../src/internal/configPath.js"

const nameWith = (config: Config.Config<string>, provider: ConfigProvider.ConfigProvider) =>
  Effect.withConfigProvider(config, provider)

describe("configPath: a variable's name as the ConfigProvider spells it", () => {
  it.effect("nested prefixes, fromMap's delimiter, constantCase and the provider's own prefix", () =>
    Effect.gen(function*() {
      const name = Config.nested(Config.nested(internalConfigPath.variableName("STPP_USERNAME"), "merchantB"), "eu")
      expect(yield* nameWith(name, ConfigProvider.fromMap(new Map()))).toBe("eu.merchantB.STPP_USERNAME")
      expect(yield* nameWith(name, ConfigProvider.constantCase(ConfigProvider.fromMap(new Map(), { pathDelim: "_" }))))
        .toBe("EU_MERCHANT_B_STPP_USERNAME")
      expect(
        yield* nameWith(name, ConfigProvider.fromMap(new Map(), { pathDelim: "-" }).pipe(ConfigProvider.nested("app")))
      ).toBe("app-eu-merchantB-STPP_USERNAME")
      expect(yield* nameWith(internalConfigPath.variableName("STPP_PASSWORD"), ConfigProvider.fromEnv()))
        .toBe("STPP_PASSWORD")
    }))

  it.effect("a provider that falls back reports both misses: the first one names the variable", () =>
    Effect.gen(function*() {
      const provider = ConfigProvider.fromMap(new Map(), { pathDelim: "_" }).pipe(
        ConfigProvider.orElse(() => ConfigProvider.fromMap(new Map(), { pathDelim: "." }))
      )
      const name = Config.nested(internalConfigPath.variableName("STPP_USERNAME"), "B")
      expect(yield* nameWith(name, provider)).toBe("B_STPP_USERNAME")
    }))

  it.effect("when the probe is set, the Config.nested prefixes are joined with \"_\"", () =>
    Effect.gen(function*() {
      const provider = ConfigProvider.fromMap(
        new Map([[`B.STPP_USERNAME.${internalConfigPath.PROBE}`, "set"]])
      )
      const name = Config.nested(internalConfigPath.variableName("STPP_USERNAME"), "B")
      expect(yield* nameWith(name, provider)).toBe("B_STPP_USERNAME")
    }))

  it("nameFrom: the delimiter the message shows, else \"_\"; missingData looks inside And and Or", () => {
    const path = ["B", "STPP_USERNAME", "PROBE"]
    expect(internalConfigPath.nameFrom(path, "Expected B::STPP_USERNAME::PROBE to exist")).toBe("B::STPP_USERNAME")
    expect(internalConfigPath.nameFrom(path, "<redacted>")).toBe("B_STPP_USERNAME")
    expect(internalConfigPath.nameFrom(["PROBE"], "Expected PROBE")).toBeUndefined()
    const miss = ConfigError.MissingData(path, "m")
    expect(internalConfigPath.missingData(ConfigError.Or(ConfigError.InvalidData([], "x"), miss))?.path).toEqual(path)
    expect(internalConfigPath.missingData(ConfigError.And(ConfigError.MissingData([], "empty"), miss))?.path)
      .toEqual(path)
    expect(internalConfigPath.missingData(ConfigError.InvalidData(path, "x"))).toBeUndefined()
  })
})
