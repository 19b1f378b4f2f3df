import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as FastCheck from "effect/FastCheck"
import * as Redacted from "effect/Redacted"
import * as Redact from "../src/Redact.js"

// Test card numbers (all Luhn-valid). Assertions on outputs only ever print booleans, never the output,
// so a failing test cannot print a whole card number.
const VISA = "4111111111111111"
const MC = "5555555555554444"
const AMEX = "378282246310005"
const VISA13 = "4222222222222"
const DINERS14 = "36227206271667"
const VISA19 = "4000000000000000006"
const VISA19B = "4917610000000000003"
const DISCOVER19 = "6011000990139424009"
const PANS = [VISA, MC, AMEX, VISA13, DINERS14, VISA19, VISA19B, DISCOVER19]

const SECRET = "S3cret-Value_x"

/** Fails without printing `out` when it holds any test PAN, contiguous or with its separators removed. */
const expectNoPan = (out: string) => {
  const digitsOnly = out.replace(/%2[0dDbB]|[ +-]/g, "")
  for (const pan of PANS) {
    expect(out.includes(pan), "a whole test PAN is in the output").toBe(false)
    expect(digitsOnly.includes(pan), "a test PAN with separators is in the output").toBe(false)
  }
}

/** Compares only after proving no PAN is in `out`, so a failure's diff never shows one. */
const expectRedactedTo = (out: string, expected: string) => {
  expectNoPan(out)
  expect(out).toBe(expected)
}

const luhnComplete = (body: string): string => {
  for (let c = 0; c <= 9; c++) {
    const candidate = body + c
    let sum = 0
    let dbl = false
    for (let i = candidate.length - 1; i >= 0; i--) {
      let d = candidate.charCodeAt(i) - 48
      if (dbl) {
        d *= 2
        if (d > 9) d -= 9
      }
      sum += d
      dbl = !dbl
    }
    if (sum % 10 === 0) return candidate
  }
  throw new Error("unreachable")
}

describe("Redact.string", () => {
  it.each([
    ["plain 16", `card ${VISA} ok`, "card 411111******1111 ok"],
    ["spaced 4-4-4-4", "card 4111 1111 1111 1111 ok", "card 4111 11** **** 1111 ok"],
    ["dashed 4-4-4-4", "card 4111-1111-1111-1111 ok", "card 4111-11**-****-1111 ok"],
    ["Amex 15 plain", `amex ${AMEX}`, "amex 378282*****0005"],
    ["Amex 4-6-5", "amex 3782 822463 10005", "amex 3782 82**** *0005"],
    ["13 digits", `v ${VISA13}`, "v 422222***2222"],
    ["14 digits", `d ${DINERS14}`, "d 362272****1667"],
    ["19 digits", `v ${VISA19}`, "v 400000*********0006"],
    ["19 digits 4-4-4-4-3", "d 6011 0009 9013 9424 009", "d 6011 00** **** ***4 009"],
    ["inside a word", `card${VISA}x`, "card411111******1111x"],
    ["in a URL path", `https://h.test/cards/${MC}/auth`, "https://h.test/cards/555555******4444/auth"],
    ["in a query string", `GET /p?card=${VISA}&amount=1050`, "GET /p?card=411111******1111&amount=1050"],
    ["percent-encoded spaces", "q=4111%201111%201111%201111&x=1", "q=4111%2011**%20****%201111&x=1"],
    ["plus-encoded spaces", "q=4111+1111+1111+1111", "q=4111+11**+****+1111"],
    ["JSON string", `{"n":"${VISA}","amount":1050}`, `{"n":"411111******1111","amount":1050}`],
    ["JSON number", `{"n":${VISA}}`, `{"n":411111******1111}`],
    ["adjacent to quotes and colons", `x:"${MC}":y`, `x:"555555******4444":y`],
    [
      "stack trace",
      `Error: card ${VISA} declined\n    at f (/app/x.js:10:5)`,
      "Error: card 411111******1111 declined\n    at f (/app/x.js:10:5)"
    ],
    ["two PANs", `${VISA} and ${MC}`, "411111******1111 and 555555******4444"]
  ])("L1: masks a PAN: %s", (_name, input, expected) => {
    expectRedactedTo(Redact.string(input), expected)
  })

  it("L1: a PAN next to other digits with a separator is still found", () => {
    const out = Redact.string(`order 12 ${VISA} 2030`)
    expectNoPan(out)
    expect(out.startsWith("order 12 ")).toBe(true)
    expect(out.endsWith(" 2030")).toBe(true)
  })

  it("L1: panMask last4 shows only the last 4 digits", () => {
    expectRedactedTo(Redact.string(`card ${VISA}`, { panMask: "last4" }), "card ************1111")
    expectRedactedTo(Redact.string("card 4111 1111 1111 1111", { panMask: "last4" }), "card **** **** **** 1111")
  })

  it.each([
    ["13 digits failing Luhn", "order 1234567890123"],
    ["timestamp", "at 20240115123045 ms"],
    ["16 digits failing Luhn", "ref 4111111111111112"],
    ["20-digit run", "trace 12345678901234567890"],
    ["a PAN glued to more digits", `id 41111111111111110`],
    ["amount", "amount 1000000000000.00 GBP"],
    ["phone", "call +44 20 7946 0958"],
    ["date and time", "2024-01-15 12:30:45.123"],
    ["uuid", "id 123e4567-e89b-12d3-a456-426614174000"],
    ["12 digits", "n 411111111111"]
  ])("L1: digit runs that are not card numbers survive: %s", (_name, input) => {
    expect(Redact.string(input)).toBe(input)
  })

  it("L1: a string with nothing sensitive is returned as it is (fast path)", () => {
    const s = "GET /json/ 200 in 35 ms, request ref 1-23-456 attempt 2 of 21"
    expect(Redact.string(s)).toBe(s)
    const long = "ok ".repeat(10_000)
    expect(Redact.string(long)).toBe(long)
  })

  const REMOVED = [
    "securitycode",
    "security_code",
    "SecurityCode",
    "security-code",
    "cardSecurityCode",
    "cvv",
    "CVV2",
    "cvc",
    "cv2",
    "csc",
    "expirydate",
    "expiry_month",
    "ExpiryYear",
    "expiry",
    "pin",
    "track1",
    "track2",
    "trackData",
    "password",
    "newPassword",
    "passwd",
    "pass",
    "cachetoken",
    "authorization",
    "Proxy-Authorization",
    "cookie",
    "set-cookie",
    "token",
    "accessToken",
    "jwt"
  ]

  it.each(REMOVED)("L1: a value under %s is removed in JSON, escaped JSON, query strings and logfmt", (key) => {
    const json = Redact.string(JSON.stringify({ a: { b: [{ [key]: SECRET, ok: "yes" }] } }))
    expect(json.includes(SECRET)).toBe(false)
    expect(JSON.parse(json).a.b[0][key]).toBe("<redacted>")
    expect(JSON.parse(json).a.b[0].ok).toBe("yes")
    const numeric = Redact.string(JSON.stringify({ [key]: 987 }))
    expect(JSON.parse(numeric)[key]).toBe("<redacted>")
    const escaped = Redact.string(JSON.stringify({ body: JSON.stringify({ [key]: SECRET }) }))
    expect(escaped.includes(SECRET)).toBe(false)
    expect(JSON.parse(JSON.parse(escaped).body)[key]).toBe("<redacted>")
    const query = Redact.string(`/json/?a=1&${key}=${SECRET}&b=2`)
    expect(query).toBe(`/json/?a=1&${key}=<redacted>&b=2`)
    const logfmt = Redact.string(`level=INFO ${key}="${SECRET} more" x=1`)
    expect(logfmt).toBe(`level=INFO ${key}="<redacted>" x=1`)
  })

  it("L1: Basic and Bearer credentials and JWTs are removed from header strings and free text", () => {
    expect(Redact.string("Authorization: Basic dXNlcjpwYXNz\r\nHost: x")).toBe("Authorization: <redacted>\r\nHost: x")
    expect(Redact.string("proxy-authorization: Bearer abc.DEF-123\nx")).toBe("proxy-authorization: <redacted>\nx")
    expect(Redact.string("sent Basic dXNlcjpwYXNz then 401")).toBe("sent Basic <redacted> then 401")
    expect(Redact.string("using bearer tok_live_ZYX987abc")).toBe("using bearer <redacted>")
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    expect(Redact.string(`cachetoken ${jwt} end`)).toBe("cachetoken <redacted> end")
    expect(Redact.string("Cookie: a=1; sid=xyz\nnext")).toBe("Cookie: <redacted>\nnext")
    expect(Redact.string("https://user:pw123@h.test/x")).toBe("https://user:<redacted>@h.test/x")
    expect(Redact.string("basic authentication failed")).toBe("basic authentication failed")
  })

  it("L1: a field named pan, cardnumber or accountnumber is masked even when the check digit is wrong", () => {
    expect(Redact.string(`{"pan":"4111111111111112"}`)).toBe(`{"pan":"411111******1112"}`)
    expect(Redact.string("cardNumber=4111111111111112&x=1")).toBe("cardNumber=411111******1112&x=1")
  })
})

describe("Redact.value", () => {
  it.each(REMOVED_KEYS())("L1: %s is removed at depths 0, 2 and 5, in arrays, Maps and error fields", (key) => {
    const deep = { l1: { l2: { l3: { l4: { [key]: SECRET } } } } }
    const input = { [key]: SECRET, nested: { list: [{ [key]: SECRET }] }, deep, map: new Map([[key, SECRET]]) }
    const out = JSON.stringify(Redact.value(input))
    expect(out.includes(SECRET)).toBe(false)
    expect(out.split("<redacted>").length - 1).toBe(4)
  })

  it("L1: card numbers in values are masked by content and by field name", () => {
    const out = Redact.value({
      pan: "4111111111111112",
      cardNumber: Number(VISA),
      note: `paid with ${MC}`,
      numbers: [Number(VISA), 1050, BigInt(AMEX)],
      set: new Set([VISA13])
    }) as Record<string, unknown>
    expectNoPan(JSON.stringify(out))
    expect(out.pan).toBe("411111******1112")
    expect(out.cardNumber).toBe("411111******1111")
    expect(out.note).toBe("paid with 555555******4444")
    expect(out.numbers).toEqual(["411111******1111", 1050, "378282*****0005"])
  })

  it("L1: Effect Redacted values stay <redacted>", () => {
    const out = Redact.value({
      user: "u",
      password: Redacted.make("pw"),
      other: Redacted.make(SECRET),
      l: [Redacted.make(1)]
    })
    expect(out).toEqual({ user: "u", password: "<redacted>", other: "<redacted>", l: ["<redacted>"] })
  })

  it("L1: cyclic values do not hang", () => {
    const a: Record<string, unknown> = { name: "a", pan: VISA }
    a.self = a
    a.list = [a, { back: a }]
    const out = Redact.value(a) as Record<string, unknown>
    expect(out.self).toBe(Redact.CIRCULAR_MARKER)
    expectNoPan(JSON.stringify(out))
    const shared = { x: 1 }
    expect(Redact.value({ a: shared, b: shared })).toEqual({ a: { x: 1 }, b: { x: 1 } })
  })

  it("L1: huge values are bounded, with a marker, and a cut never leaves a partial PAN", () => {
    let deep: Record<string, unknown> = { pan: VISA }
    for (let i = 0; i < 5_000; i++) deep = { next: deep }
    const outDeep = JSON.stringify(Redact.value(deep))
    expect(outDeep.includes(Redact.DEPTH_MARKER)).toBe(true)

    const wide = Array.from({ length: 100_000 }, (_, i) => i)
    const outWide = Redact.value(wide) as Array<unknown>
    expect(outWide.length).toBe(1_001)
    expect(outWide[1_000]).toBe("[+99000 more]")

    const big = "x".repeat(32_760) + ` ${VISA} tail`
    const outBig = Redact.value(big) as string
    expectNoPan(outBig)
    expect(outBig.includes("41111111")).toBe(false)
    expect(outBig.length < 33_000).toBe(true)

    const many = Array.from({ length: 200 }, () => Array.from({ length: 200 }, () => ({ pan: VISA })))
    const outMany = JSON.stringify(Redact.value(many))
    expect(outMany.includes(Redact.SIZE_MARKER)).toBe(true)
    expectNoPan(outMany)
  })

  it("L1: bytes are redacted as text", () => {
    const body = `{"pan":"${VISA}","securitycode":"123","amount":"1050"}`
    const out = Redact.bytes(Buffer.from(body))
    expectRedactedTo(out, `{"pan":"411111******1111","securitycode":"<redacted>","amount":"1050"}`)
    expect(Redact.bytes(new TextEncoder().encode(`card ${MC}`))).toBe("card 555555******4444")
    const outValue = Redact.value({ body: Buffer.from(body) }) as { body: string }
    expect(outValue.body.includes("<redacted>")).toBe(true)
    const large = Redact.bytes(Buffer.alloc(100_000, 65))
    expect(large.endsWith("[+67232 bytes]")).toBe(true)
  })

  it("L1: URLs lose passwords, sensitive query values and PANs", () => {
    const out = Redact.url(
      `https://user:pw@h.test/cards/${VISA}?cvv=123&card%5Bcvv%5D=456&pan=4111111111111112&q=4111%201111%201111%201111&ok=1#${MC}`
    )
    expectRedactedTo(
      out,
      "https://user:<redacted>@h.test/cards/411111******1111?cvv=<redacted>&card%5Bcvv%5D=<redacted>&pan=411111******1112&q=4111%2011**%20****%201111&ok=1#555555******4444"
    )
    expect(Redact.value(new URL("https://h.test/?password=x"))).toBe("https://h.test/?password=<redacted>")
  })
})

class GatewayError extends Error {
  readonly host = "gw.test"
  readonly securitycode = "123"
  readonly pan = VISA
}

describe("Redact.error", () => {
  const make = () => {
    const root = new Error(`socket said: card ${MC} Authorization: Basic dXNlcjpwYXNz`)
    const mid = new Error(`password=hunter2 rejected for ${AMEX}`, { cause: root })
    return new GatewayError(`request failed for ${VISA}`, { cause: mid })
  }

  it("L1: message, stack, own fields and the cause chain are redacted into a new Error", () => {
    const original = make()
    const e = Redact.error(original)
    expect(e).not.toBe(original)
    expect(e instanceof Error).toBe(true)
    expect(e.message).toBe("request failed for 411111******1111")
    expect(e.name).toBe("Error")
    expectNoPan(e.stack ?? "")
    expect((e.stack ?? "").includes("411111******1111")).toBe(true)
    const fields = e as unknown as Record<string, unknown>
    expect(fields.host).toBe("gw.test")
    expect(fields.securitycode).toBe("<redacted>")
    expect(fields.pan).toBe("411111******1111")
    const mid = e.cause as Error
    expect(mid.message).toBe("password=<redacted> rejected for 378282*****0005")
    const root = mid.cause as Error
    expect(root.message).toBe("socket said: card 555555******4444 Authorization: <redacted>")
    const all = [e.message, e.stack, mid.message, mid.stack, root.message, root.stack].join("\n")
    expectNoPan(all)
    expect(all.includes("hunter2")).toBe(false)
    expect(all.includes("dXNlcjpwYXNz")).toBe(false)
  })

  it("L1: an error as a value becomes a safe plain object; a cyclic cause does not hang", () => {
    const out = JSON.stringify(Redact.value(make()))
    expectNoPan(out)
    expect(out.includes("hunter2")).toBe(false)
    expect(out.includes("\"securitycode\":\"<redacted>\"")).toBe(true)
    const cyclic = new Error(`loop ${VISA}`)
    ;(cyclic as { cause?: unknown }).cause = cyclic
    expectNoPan(JSON.stringify(Redact.value(cyclic)))
    expectNoPan(Redact.error(cyclic).message)
  })

  it("L1: a Cause's failures and defects are redacted, and so is its rendering", () => {
    const cause = Cause.sequential(
      Cause.fail(make()),
      Cause.parallel(Cause.die(new Error(`Authorization: Basic dXNlcjpwYXNz for ${VISA}`)), Cause.fail({ cvv: "123" }))
    )
    const text = Redact.prettyCause(cause)
    expectNoPan(text)
    expect(text.includes("dXNlcjpwYXNz")).toBe(false)
    expect(text.includes("hunter2")).toBe(false)
    expect(text.includes("411111******1111")).toBe(true)
    expect(text.includes("[cause]:")).toBe(true)
    const pretty = Cause.pretty(Redact.cause(cause), { renderErrorCause: true })
    expectNoPan(pretty)
    expect(pretty.includes("\"cvv\":\"123\"")).toBe(false)
    expect(Redact.cause(Cause.empty)).toBe(Cause.empty)
  })
})

function REMOVED_KEYS() {
  return ["security_code", "CVV", "expiryDate", "pin", "track2", "password", "cachetoken", "Authorization", "jwt"]
}

describe("Redact properties", () => {
  const separator = FastCheck.constantFrom("", " ", "-")
  const pan = FastCheck.tuple(
    FastCheck.integer({ min: 13, max: 19 }),
    FastCheck.array(FastCheck.integer({ min: 0, max: 9 }), { minLength: 19, maxLength: 19 }),
    FastCheck.integer({ min: 1, max: 9 })
  ).map(([length, digits, first]) => luhnComplete(`${first}${digits.slice(0, length - 2).join("")}`))
  const boundary = FastCheck.constantFrom(" ", "x", "\"", "=", "/", ":", "\n", "(", "%20", ",")
  const text = FastCheck.string({ maxLength: 40 })

  it("L1: random Luhn-valid PANs in random text never come out whole", () => {
    FastCheck.assert(
      FastCheck.property(text, boundary, pan, separator, boundary, text, (before, b1, digits, sep, b2, after) => {
        const formatted = digits.replace(/(\d{4})(?=\d)/g, `$1${sep}`)
        const out = Redact.string(`${before}${b1}${formatted}${b2}${after}`)
        return !out.includes(formatted) && !out.includes(digits) &&
          !out.replace(/[ -]/g, "").includes(digits)
      }),
      { numRuns: 500 }
    )
  })

  it("L1: random PANs in nested values never come out whole", () => {
    FastCheck.assert(
      FastCheck.property(pan, FastCheck.string({ maxLength: 10 }), (digits, key) => {
        const out = JSON.stringify(Redact.value({ [key]: { list: [`n ${digits}`, Number(digits)] } }))
        return !out.includes(digits)
      }),
      { numRuns: 300 }
    )
  })

  it("L1: digit runs failing Luhn survive unchanged", () => {
    const invalid = pan.map((d) => d.slice(0, -1) + String((Number(d[d.length - 1]) + 1) % 10))
    FastCheck.assert(
      FastCheck.property(invalid, (digits) => Redact.string(`ref ${digits} ok`) === `ref ${digits} ok`),
      { numRuns: 300 }
    )
  })

  it("L1: any value is redacted without throwing into something JSON can print", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.anything({ withMap: true, withSet: true, withBigInt: true }), (u) => {
        JSON.stringify(Redact.value(u))
        return true
      }),
      { numRuns: 300 }
    )
  })
})
