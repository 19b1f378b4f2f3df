import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as GatewayClient from "../src/GatewayClient.js"

describe("GatewayClient.makeReference", () => {
  it.effect("is A + 8 lowercase letters or digits, 20,000 in a row all different, every letter and digit used", () =>
    Effect.gen(function*() {
      const seen = new Set<string>()
      const chars = new Set<string>()
      for (let i = 0; i < 20_000; i++) {
        const reference = yield* GatewayClient.makeReference
        expect(reference).toMatch(/^A[a-z0-9]{8}$/)
        seen.add(reference)
        for (const c of reference.slice(1)) chars.add(c)
      }
      expect(seen.size).toBe(20_000)
      expect(chars.size).toBe(36)
    }))
})
