import { describe, expect, it } from "@effect/vitest"
import * as Http from "../src/internal/http.js"

describe("internal/http", () => {
  it("D2: reads what the server says about keeping the connection", () => {
    expect(Http.keepAliveHint({ connection: "close" })).toEqual({
      close: true,
      timeoutMillis: undefined,
      max: undefined
    })
    expect(Http.keepAliveHint({ connection: "keep-alive", "keep-alive": "timeout=5, max=1000" })).toEqual({
      close: false,
      timeoutMillis: 5000,
      max: 1000
    })
    expect(Http.keepAliveHint({})).toEqual({ close: false, timeoutMillis: undefined, max: undefined })
  })

  it("R3: names the failure from the error's cause chain", () => {
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })
    expect(Http.failureReason({ cause: { cause: reset } })).toBe("reset")
    expect(Http.failureReason({ cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }) }))
      .toBe("closed")
    expect(Http.failureReason({ cause: Object.assign(new Error("bad"), { code: "HPE_INVALID_STATUS" }) })).toBe(
      "malformed-response"
    )
    expect(Http.failureReason(new Error("?"))).toBe("closed")
  })

  it("R3: the phase follows what was written and received", () => {
    expect(Http.phaseOf(10, 100, false)).toBe("sending")
    expect(Http.phaseOf(100, 100, false)).toBe("awaiting")
    expect(Http.phaseOf(100, 100, true)).toBe("receiving")
  })
})
