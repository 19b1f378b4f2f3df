/**
 * Fuzzing the configuration (issue 11, C3): random text for every STPP_* setting is either a valid
 * value or a typed `ConfigError` naming the setting; never a throw or a defect, and a credential
 * put in the URL is never echoed.
 */
import * as ConnectionConfig from "@stpp/connect/ConnectionConfig"
import * as Cause from "effect/Cause"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import { describe, expect, it } from "vitest"
import { heavyEnabled, heavySkipReason } from "./world.js"

const read = (env: ReadonlyMap<string, string>) =>
  Effect.runSyncExit(
    Effect.withConfigProvider(
      Effect.flatMap(ConnectionConfig.config, Effect.succeed),
      ConfigProvider.fromMap(new Map(env))
    )
  )

const text = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.fullUnicodeString({ maxLength: 30 }),
  fc.tuple(
    fc.oneof(fc.integer(), fc.double()),
    fc.constantFrom("", "ms", "s", "m", "h", " seconds", " millis", "x", "d")
  )
    .map(([n, u]) => `${n}${u}`),
  fc.constantFrom(
    "",
    " ",
    "true",
    "no",
    "0",
    "-1",
    "1e309",
    "NaN",
    "node",
    "only",
    "https://",
    "127.0.0.1:99999",
    "[::1]:53",
    ",,,"
  )
)

describe.skipIf(!heavyEnabled)("fuzz: STPP_* settings", () => {
  if (!heavyEnabled) it.skip(heavySkipReason, () => {})

  it("C3: any text for any setting is a valid value or a ConfigError naming it, never a defect", () => {
    const envs = ConnectionConfig.settings.map((s) => s.env)
    fc.assert(
      fc.property(fc.constantFrom(...envs), text, (env, value) => {
        const exit = read(new Map([[env, value]]))
        if (Exit.isFailure(exit)) {
          expect(Cause.isDie(exit.cause), Cause.pretty(exit.cause)).toBe(false)
          const e = Option.getOrUndefined(Cause.failureOption(exit.cause))
          expect(ConfigError.isConfigError(e)).toBe(true)
          const message = ConnectionConfig.formatConfigError(e as ConfigError.ConfigError)
          expect(message).toMatch(/STPP_[A-Z_]+: /) // names the setting
        } else {
          const s = exit.value
          expect(s.maxRetries).toBeGreaterThanOrEqual(0)
          expect(s.maxRetries).toBeLessThanOrEqual(1000)
          expect(Duration.toMillis(s.connectTimeout)).toBeGreaterThanOrEqual(1)
          expect(Duration.toMillis(s.dnsMaxTtl)).toBeLessThanOrEqual(3_600_000)
          expect(s.url.protocol).toBe("https:")
        }
      }),
      { numRuns: 2000, interruptAfterTimeLimit: 30_000 }
    )
  })

  it("C3/L1: a password in STPP_URL is refused and never echoed", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9]{8,24}$/),
        fc.stringMatching(/^[a-z]{1,10}$/),
        (password, user) => {
          const exit = read(new Map([["STPP_URL", `https://${user}:${password}@gw.example.test/json/`]]))
          expect(Exit.isFailure(exit)).toBe(true)
          if (Exit.isFailure(exit)) {
            const e = Option.getOrUndefined(Cause.failureOption(exit.cause)) as ConfigError.ConfigError
            expect(ConnectionConfig.formatConfigError(e)).not.toContain(password)
            expect(Cause.pretty(exit.cause)).not.toContain(password)
          }
        }
      ),
      { numRuns: 300 }
    )
  })
})
