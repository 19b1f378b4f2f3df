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

  it("L1: a PAN next to other digits with a separator is still found; the 4 digits after it may be its expiry", () => {
    const out = Redact.string(`order 12 ${VISA} 2030`)
    expectNoPan(out)
    expect(out).toBe("order 12 411111******1111 <redacted>")
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

// -----------------------------------------------------------------------------
// the shapes card data really takes (issue 17: L1)
// -----------------------------------------------------------------------------

/** ASCII digits written in another script: each digit `d` becomes `zero + d` (a code point). */
const inScript = (digits: string, zero: number): string =>
  Array.from(digits, (d) => String.fromCodePoint(zero + Number(d))).join("")

const SCRIPT_ZEROS = [
  0x30, // ASCII
  0xff10, // fullwidth
  0x660, // Arabic-Indic
  0x6f0, // extended Arabic-Indic (Persian)
  0x966, // Devanagari
  0x9e6, // Bengali
  0xe50, // Thai
  0x1d7ce, // mathematical bold (outside the BMP)
  0x1d7f6 // mathematical monospace
]

/** Every decimal digit of any script as its ASCII digit, so that assertions see through scripts. */
const asciiDigits = (s: string): string =>
  s.replace(/\p{Nd}/gu, (d) => {
    let zero = d.codePointAt(0)!
    while (/\p{Nd}/u.test(String.fromCodePoint(zero - 1)) && d.codePointAt(0)! - zero < 64) zero--
    return String((d.codePointAt(0)! - zero) % 10)
  })

/** Only the digits and mask characters of a text, in ASCII: what a reader could piece a number from. */
const digitsAndMasks = (s: string): string =>
  asciiDigits(s.replace(/%[0-9A-Fa-f]{2}/g, " ").replace(/…\[\+\d+ (chars|bytes)\]/g, "")).replace(/[^0-9*]/g, "")

/**
 * No more of `pan` shows than its first 6 and last 4 digits, in any script, with any separators:
 * the text around it holds no digits of its own, so at most 10 digits may be left in the output.
 */
const showsAtMostFirst6Last4 = (out: string, pan: string): boolean => {
  const d = digitsAndMasks(out)
  return !d.includes(pan) && d.replace(/\*/g, "").length <= 10
}

describe("Redact.string: card data in the shapes it takes (L1, issue 17 item 5)", () => {
  it.each([
    ["dots", "4111.1111.1111.1111"],
    ["slashes", "4111/1111/1111/1111"],
    ["underscores", "4111_1111_1111_1111"],
    ["two spaces", "4111  1111  1111  1111"],
    ["space-dash-space", "4111 - 1111 - 1111 - 1111"],
    ["tabs", "4111\t1111\t1111\t1111"],
    ["mixed", "4111.1111-1111/1111"],
    ["split across lines", "4111 1111\n1111 1111"],
    ["split across CRLF lines with indentation", "4111 1111\r\n    1111 1111"],
    ["split by an escaped newline in JSON", "4111 1111\\n1111 1111"],
    ["no-break spaces", "4111\u00a01111\u00a01111\u00a01111"],
    ["ideographic spaces", "4111\u30001111\u30001111\u30001111"],
    ["en dashes", "4111\u20131111\u20131111\u20131111"],
    ["percent-encoded newline", "4111%0A1111%0A1111%0A1111"]
  ])("L1: a PAN with separators: %s", (_name, formatted) => {
    const out = Redact.string(`card ${formatted} ok`)
    expect(showsAtMostFirst6Last4(out, VISA)).toBe(true)
    expect(out.startsWith("card ")).toBe(true)
    expect(out.endsWith(" ok")).toBe(true)
  })

  it.each(SCRIPT_ZEROS.map((z) => [z.toString(16), z] as const))(
    "L1: a PAN in the digits of another script (zero at U+%s), plain, spaced and under pan/maskedpan",
    (_hex, zero) => {
      for (const pan of [VISA, MC, AMEX]) {
        const plain = inScript(pan, zero)
        const spaced = inScript(pan.slice(0, 4), zero) + " " + inScript(pan.slice(4, 8), zero) + " " +
          inScript(pan.slice(8), zero)
        for (const text of [`card ${plain}.`, `card ${spaced}.`]) {
          expect(showsAtMostFirst6Last4(Redact.string(text), pan)).toBe(true)
        }
        for (const key of ["pan", "maskedpan"]) {
          const wrong = inScript(pan.slice(0, -1) + String((Number(pan.slice(-1)) + 1) % 10), zero)
          const json = Redact.string(JSON.stringify({ [key]: wrong }))
          expect(showsAtMostFirst6Last4(json, asciiDigits(wrong))).toBe(true)
          const value = JSON.stringify(Redact.value({ [key]: wrong }))
          expect(showsAtMostFirst6Last4(value, asciiDigits(wrong))).toBe(true)
          expect(showsAtMostFirst6Last4(JSON.stringify(Redact.value({ note: `paid ${plain}` })), pan)).toBe(true)
        }
      }
    }
  )

  it("L1: 12-digit card numbers (Maestro) are masked to their last 4", () => {
    const twelve = luhnComplete("50000000000")
    expectRedactedTo(Redact.string(`m ${twelve} x`), `m ********${twelve.slice(-4)} x`)
  })

  it("L1: the expiry and security code written beside a card number are removed", () => {
    const cases = [
      `card ${VISA} exp 12/30 cvv 123`,
      `card ${VISA} 12/30 123`,
      `card 4111 1111 1111 1111 12/2030 1234`,
      `${VISA}, 12-30, 123`,
      `["${VISA}","12/2030","123"]`,
      `${VISA}\n1230\n123`,
      `pan ${VISA} expiry 2030-12 code 999`
    ]
    for (const text of cases) {
      const out = Redact.string(text)
      expectNoPan(out)
      expect(/12\/30|12\/2030|12-30|2030-12|1230|\b123\b|1234|999/.test(out), "an expiry or code is left").toBe(false)
    }
    // A number its own field name labels is not taken for a security code.
    expect(Redact.string(`{"pan":"${VISA}","baseamount":"1050","attempt":1}`)).toBe(
      `{"pan":"411111******1111","baseamount":"1050","attempt":1}`
    )
  })

  it("L1: track data is removed beyond the masked PAN (track 1 and track 2)", () => {
    const track1 = `%B${VISA}^LOVELACE/ADA^3012101000000000000000000000?`
    const track2 = `;${VISA}=30121010000000000000?`
    for (const text of [track1, track2, `read ${track1}${track2} done`, `${VISA}=3012101123456789`]) {
      const out = Redact.string(text)
      expectNoPan(out)
      expect(out.includes("LOVELACE"), "the cardholder name is left").toBe(false)
      expect(/3012|101000|1010000/.test(out), "the expiry or service code is left").toBe(false)
      expect(out.includes("411111******1111")).toBe(true)
    }
    expect(Redact.string(`read ${track2} done`)).toBe("read ;411111******1111=<redacted> done")
  })

  const USER = "webservices@merchant.example"
  const PASSWORD = "S3cret-Pa55_word"
  const TOKEN = Buffer.from(`${USER}:${PASSWORD}`).toString("base64")

  it("L1: the auth token with or without Basic, Authorization with a space or a colon", () => {
    const texts = [
      `Authorization: Basic ${TOKEN}`,
      `Authorization Basic ${TOKEN}`,
      `Authorization ${TOKEN}`,
      `authorization=${TOKEN}`,
      `the gateway echoed ${TOKEN} back`,
      `{"errordata":["${TOKEN}"]}`,
      `token ${TOKEN}`
    ]
    for (const text of texts) {
      const out = Redact.string(text)
      expect(out.includes(TOKEN), `the token is left in: ${out.replace(TOKEN, "<TOKEN>")}`).toBe(false)
      expect(out.includes(TOKEN.slice(0, 12))).toBe(false)
    }
    // Base64 that is not a user:password pair is left alone.
    expect(Redact.string("id QUJDREVGR0hJSktM")).toBe("id QUJDREVGR0hJSktM")
    expect(Redact.string("see RequestTypeDescriptions")).toBe("see RequestTypeDescriptions")
  })

  it("L1: a password after a space, '=' or ':', and a sentence about a password is left readable", () => {
    for (const text of [`password ${PASSWORD}`, `password=${PASSWORD}`, `password: ${PASSWORD}`, `pwd ${PASSWORD} x`]) {
      expect(Redact.string(text).includes(PASSWORD)).toBe(false)
    }
    expect(Redact.string(`user ${USER} password ${PASSWORD} rejected`)).toBe(
      `user ${USER} password <redacted> rejected`
    )
    for (
      const prose of [
        "STPP_PASSWORD is not set; allowed: the web-services user's password, from the environment only",
        "Credentials come from STPP_USERNAME and STPP_PASSWORD only.",
        "the password must not be empty"
      ]
    ) {
      expect(Redact.string(prose)).toBe(prose)
    }
  })

  it("L1: STPP_PAN_MASK=last4 also hides the first 6 digits of a PAN masked elsewhere", () => {
    expect(Redact.string(`{"maskedpan":"411111######1111"}`, { panMask: "last4" })).toBe(
      `{"maskedpan":"******######1111"}`
    )
    expect(Redact.string("card 411111******1111 ok", { panMask: "last4" })).toBe("card ************1111 ok")
    expect(Redact.string("card 411111******1111 ok")).toBe("card 411111******1111 ok")
  })

  it("L1: addresses, times and versions are not taken for card numbers", () => {
    for (
      const text of [
        "127.0.0.1  127.0.10.1  127.0.20.11",
        "185.143.200.111 185.143.200.112",
        "at 2026-01-15 10:20:30.456 took 1.5 s",
        "v1.22.4 / 2024.10.1"
      ]
    ) {
      expect(Redact.string(text)).toBe(text)
    }
  })

  it("L1: truncate masks before it cuts: a PAN at the cut shows no more than a masked one (issue 17 item 2)", () => {
    for (let at = 180; at <= 200; at++) {
      for (const formatted of [VISA, "4111 1111 1111 1111", "4111.1111.1111.1111"]) {
        const out = Redact.truncate("x".repeat(at) + formatted + " tail", 200)
        expect(showsAtMostFirst6Last4(out, VISA)).toBe(true)
        expect(/\d{7}/.test(out.replace(/[ .]/g, "").replace(/\[\+\d+ chars\]/, ""))).toBe(false)
        expect(out.length <= 230).toBe(true)
      }
    }
    expect(Redact.truncate("short", 200)).toBe("short")
  })
})

describe("Redact properties: generated card shapes (L1, issue 17)", () => {
  const panOf = (length: number, digits: ReadonlyArray<number>, first: number) =>
    luhnComplete(`${first}${digits.slice(0, length - 2).join("")}`)
  const pan = FastCheck.tuple(
    FastCheck.integer({ min: 12, max: 19 }),
    FastCheck.array(FastCheck.integer({ min: 0, max: 9 }), { minLength: 19, maxLength: 19 }),
    FastCheck.integer({ min: 1, max: 9 })
  ).map(([length, digits, first]) => panOf(length, digits, first))
  const separatorUnit = FastCheck.constantFrom(
    " ",
    "-",
    ".",
    "/",
    "_",
    "+",
    "\t",
    "\n",
    "\r\n",
    "\\n",
    "%20",
    "\u00a0",
    "\u3000",
    "\u2013",
    "\u2212"
  )
  const separator = FastCheck.array(separatorUnit, { minLength: 1, maxLength: 2 }).map((a) => a.join(""))
  // Layouts card numbers are printed in: groups of 4 (the last shorter), 4-6-rest, or any groups of 4 or more.
  const layout = FastCheck.oneof(
    FastCheck.constant([4]),
    FastCheck.constant([4, 6]),
    FastCheck.array(FastCheck.integer({ min: 4, max: 8 }), { minLength: 1, maxLength: 4 })
  )
  const shaped = FastCheck.tuple(
    pan,
    layout,
    FastCheck.array(separator, { minLength: 6, maxLength: 6 }),
    FastCheck.constantFrom(...SCRIPT_ZEROS),
    FastCheck.boolean()
  ).map(([digits, sizes, seps, zero, grouped]) => {
    if (!grouped) return { digits, text: inScript(digits, zero) }
    const parts: Array<string> = []
    let at = 0
    for (let g = 0; at < digits.length; g++) {
      const size = sizes[Math.min(g, sizes.length - 1)]
      parts.push(inScript(digits.slice(at, at + size), zero))
      at += size
    }
    let text = parts[0]
    for (let p = 1; p < parts.length; p++) text += seps[Math.min(p - 1, seps.length - 1)] + parts[p]
    return { digits, text }
  })
  const boundary = FastCheck.constantFrom(" ", "x", "\"", "=", ":", "\n", "(", ",", "[", "card ")
  const text = FastCheck.string({ maxLength: 30 }).map((s) => s.replace(/\p{Nd}/gu, "d"))

  it("L1: generated PANs (any script, layout and separators) never show more than first 6 and last 4", () => {
    FastCheck.assert(
      FastCheck.property(text, boundary, shaped, boundary, text, (before, b1, card, b2, after) => {
        const out = Redact.string(`${before}${b1}${card.text}${b2}${after}`)
        return showsAtMostFirst6Last4(out, card.digits)
      }),
      { numRuns: 1500 }
    )
  })

  it("L1: generated PANs with last4 show no more than the last 4", () => {
    FastCheck.assert(
      FastCheck.property(shaped, (card) => {
        const d = digitsAndMasks(Redact.string(`card ${card.text} ok`, { panMask: "last4" }))
        return d.replace(/\*/g, "").length <= 4
      }),
      { numRuns: 500 }
    )
  })

  it("L1: generated PANs with an expiry and a security code beside them: neither is left", () => {
    const month = FastCheck.integer({ min: 1, max: 12 }).map((m) => String(m).padStart(2, "0"))
    const year = FastCheck.integer({ min: 26, max: 45 }).map(String)
    const cvv = FastCheck.integer({ min: 100, max: 9999 }).map(String)
    const gap = FastCheck.constantFrom(" ", ", ", "\n", " exp ", "\",\"", " | ", " cvv ")
    FastCheck.assert(
      FastCheck.property(shaped, month, year, cvv, gap, gap, (card, mm, yy, code, g1, g2) => {
        const out = Redact.string(`card ${card.text}${g1}${mm}/${yy}${g2}${code} end`)
        return showsAtMostFirst6Last4(out, card.digits) && !out.includes(`${mm}/${yy}`)
      }),
      { numRuns: 500 }
    )
  })

  it("L1: generated Basic credentials are removed with or without the scheme", () => {
    const word = FastCheck.stringMatching(/^[A-Za-z0-9._@-]{3,24}$/)
    const secret = FastCheck.stringMatching(/^[!-~]{8,24}$/)
    FastCheck.assert(
      FastCheck.property(
        word,
        secret,
        FastCheck.constantFrom("", "Basic ", "Authorization: Basic ", "Authorization "),
        (
          user,
          password,
          prefix
        ) => {
          const token = Buffer.from(`${user}:${password}`).toString("base64")
          const out = Redact.string(`gateway said ${prefix}${token} end`)
          return !out.includes(token)
        }
      ),
      { numRuns: 500 }
    )
  })

  it("L1: generated track data shows no more than the masked PAN", () => {
    const name = FastCheck.stringMatching(/^[A-Z]{2,12}\/[A-Z]{2,12}$/)
    const discretionary = FastCheck.stringMatching(/^[0-9]{8,20}$/)
    FastCheck.assert(
      FastCheck.property(pan, name, discretionary, FastCheck.boolean(), (digits, holder, rest, one) => {
        const track = one ? `%B${digits}^${holder}^3012101${rest}?` : `;${digits}=3012101${rest}?`
        const out = Redact.string(`swiped ${track} ok`)
        return showsAtMostFirst6Last4(out, digits) && !out.includes(holder) && !out.includes(rest) &&
          !out.includes("3012101")
      }),
      { numRuns: 500 }
    )
  })
})

describe("Redact: PANs masked elsewhere (issue 17 item 7)", () => {
  it("L1: a masked PAN under maskedpan keeps its shape when redacted again, and last4 hides its first 6", () => {
    const once = Redact.value({ maskedpan: "411111######1111" })
    expect(once).toEqual({ maskedpan: "411111######1111" })
    expect(Redact.string(JSON.stringify(once))).toBe(`{"maskedpan":"411111######1111"}`)
    expect(Redact.value({ maskedpan: "411111######1111" }, { panMask: "last4" })).toEqual({
      maskedpan: "******######1111"
    })
  })
})

describe("Redact: secrets known by value (options.secrets)", () => {
  const PASSWORD = "pw\"Quoted-9"
  const TOKEN = Buffer.from(`ws@example.test:${PASSWORD}`).toString("base64")

  it("L1: a known password and token go wherever they stand, also JSON-escaped, before the content scan", () => {
    const options = { secrets: [PASSWORD, TOKEN] }
    const text = `gateway said ${PASSWORD} and ${JSON.stringify({ echo: PASSWORD })} with ${TOKEN}`
    const out = Redact.string(text, options)
    expect(out.includes(PASSWORD) || out.includes(JSON.stringify(PASSWORD).slice(1, -1))).toBe(false)
    expect(out.includes(TOKEN)).toBe(false)
    expect(out.startsWith("gateway said <redacted> and")).toBe(true)
  })

  it("L1: a digit secret (a security code, a PAN sent) only as a whole number; through value, fieldValue, error", () => {
    expect(Redact.withoutSecrets("cvv 737 order 17370", ["737"])).toBe("cvv <redacted> order 17370")
    const options = { secrets: ["737", VISA] }
    const value = Redact.value({ errormessage: `echo ${VISA}/737`, nested: ["737", "1737"] }, options)
    expect(JSON.stringify(value).includes(VISA)).toBe(false)
    expect(value).toEqual({ errormessage: "echo <redacted>/<redacted>", nested: ["<redacted>", "1737"] })
    expect(Redact.fieldValue("orderreference", "ref-737", options)).toBe("ref-<redacted>")
    expect(Redact.error(new Error(`echoed 737`), options).message).toBe("echoed <redacted>")
  })

  it("L1: a key that holds a secret is redacted too, and the clean-key cache does not skip it", () => {
    expect(Redact.value({ merchantHunterZ: 1 })).toEqual({ merchantHunterZ: 1 })
    expect(Redact.value({ merchantHunterZ: 1 }, { secrets: ["merchantHunterZ"] })).toEqual({ "<redacted>": 1 })
  })
})
