import { describe, expectTypeOf, it } from "@effect/vitest"
import type * as ConfigError from "effect/ConfigError"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as ConnectionError from "../src/ConnectionError.js"
import * as ConnectionService from "../src/ConnectionService.js"
import type * as RedactingLogger from "../src/RedactingLogger.js"
import type * as TlsConnector from "../src/TlsConnector.js"

describe("public types", () => {
  it("C1: request fails only with NotSent | Refused | OutcomeUnknown and needs nothing", () => {
    type Request = ConnectionService.ConnectionService["Type"]["request"]
    expectTypeOf<Effect.Effect.Error<ReturnType<Request>>>().toEqualTypeOf<
      ConnectionError.NotSent | ConnectionError.Refused | ConnectionError.OutcomeUnknown
    >()
    expectTypeOf<Effect.Effect.Context<ReturnType<Request>>>().toEqualTypeOf<never>()
  })

  it("C1/C3: the live layer needs nothing and fails only at start, with typed errors", () => {
    expectTypeOf(ConnectionService.layer).toEqualTypeOf<
      Layer.Layer<
        ConnectionService.ConnectionService,
        ConfigError.ConfigError | TlsConnector.TrustStoreError | RedactingLogger.LiveDebugRefused
      >
    >()
  })
})
