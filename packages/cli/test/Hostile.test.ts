/**
 * Issue 17 (L1, C3, S3): hostile input to the built `stpp` command. Each case ends in exit 2 with a
 * reason on standard error, fast, and nothing printed holds the secret or card number given.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const BIN = fileURLToPath(new URL("../bin/stpp.js", import.meta.url))
const VISA = "4111111111111111"
const PASSWORD = "S3cret-Pa55_word"

const baseEnv = (): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("STPP_")) out[k] = v
  return {
    ...out,
    STPP_USERNAME: "webservices@example.test",
    STPP_PASSWORD: PASSWORD,
    STPP_SITE_REFERENCE: "test_site12345",
    STPP_URL: "https://gw.example.test/json/"
  }
}

const stpp = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const r = ChildProcess.spawnSync(process.execPath, [BIN, ...args], {
    env: { ...baseEnv(), ...env },
    encoding: "utf8",
    timeout: 30_000
  })
  return { code: r.status, out: `${r.stdout}\n${r.stderr}`, stderr: r.stderr }
}

const expectClean = (out: string) => {
  expect(out.includes(VISA), "the PAN is printed").toBe(false)
  expect(out.includes(PASSWORD), "the password is printed").toBe(false)
  expect(out.includes("PASSWORD@"), "the URL's password is printed").toBe(false)
  expect(/RangeError|unexpected failure/.test(out), "a crash").toBe(false)
}

describe("stpp: hostile input (issue 17)", () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "stpp-hostile-"))
  const body = Path.join(dir, "auth.json")
  Fs.writeFileSync(
    body,
    JSON.stringify({
      requesttypedescriptions: ["AUTH"],
      baseamount: "1050",
      currencyiso3a: "GBP",
      accounttypedescription: "ECOM",
      orderreference: "hostile",
      pan: VISA,
      expirydate: "12/2030",
      securitycode: "123"
    })
  )

  it("item 1: a URL with credentials that does not parse is exit 2 and its password is not printed", () => {
    const url = "https://user:PASSWORD@host:99999/json/"
    for (
      const run of [
        stpp(["request", "--body", body], { STPP_URL: url }),
        stpp(["request", "--body", body, "--url", url])
      ]
    ) {
      expect(run.code).toBe(2)
      expect(run.stderr).toMatch(/STPP_URL|--url/)
      expectClean(run.out)
    }
  })

  it("item 6: echoed option values and unknown arguments are redacted", () => {
    const runs = [
      stpp(["request", "--body", body, `--${VISA}`]),
      stpp(["request", "--body", body, VISA]),
      stpp(["request", "--body", body, "--connect-timeout", PASSWORD]),
      stpp(["request", "--body", body, "--max-retries", VISA]),
      stpp(["request", "--body", Path.join(dir, `${VISA}.json`)]),
      stpp(["request", "--body", body, "--ca", Path.join(dir, `${VISA}.pem`)])
    ]
    for (const run of runs) {
      expect(run.code).toBe(2)
      expectClean(run.out)
    }
  })

  it("item 8: --body /dev/zero, a FIFO, a huge file and --ca /dev/urandom are exit 2 with the reason", () => {
    const fifo = Path.join(dir, "fifo")
    ChildProcess.execFileSync("mkfifo", [fifo])
    const big = Path.join(dir, "big.json")
    Fs.writeFileSync(big, "")
    Fs.truncateSync(big, 1_100 * 1024 * 1024)
    for (
      const [args, reason] of [
        [["request", "--body", "/dev/zero"], /not a regular file/],
        [["request", "--body", fifo], /not a regular file/],
        [["request", "--body", big], /larger than the limit/],
        [["request", "--body", body, "--ca", "/dev/urandom"], /not a regular file/]
      ] as const
    ) {
      const run = stpp(args)
      expect(run.code).toBe(2)
      expect(run.stderr).toMatch(reason)
      expectClean(run.out)
    }
  })

  it("item 9: a zoned IPv6 nameserver is exit 2 with a clear error, no crash (request and doctor)", () => {
    for (
      const args of [["request", "--body", body, "--nameserver", "fe80::1%lo"], [
        "doctor",
        "--nameserver",
        "fe80::1%lo"
      ]]
    ) {
      const run = stpp(args)
      expect(run.code).toBe(2)
      expect(run.stderr).toMatch(/--nameserver: .*zoned IPv6/)
      expectClean(run.out)
    }
  })

  it("items 10, 11: doctor --host must be a DNS name; port 0, IP literals and a blank nameserver are refused", () => {
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
      [["doctor", "--host", "::1"], /--host: an IP address cannot be checked/],
      [["doctor", "--host", "-x.test"], /--host: the value is not a DNS name/],
      [["doctor", "--host", `${"a".repeat(300)}.test`], /--host: the value is not a DNS name/],
      [["request", "--body", body, "--url", "https://x.test:0/json/"], /port 0/],
      [["request", "--body", body, "--url", "https://127.0.0.1/json/"], /an IP address cannot be the host/],
      [["request", "--body", body, "--nameserver", " "], /--nameserver: /]
    ]
    for (const [args, reason] of cases) {
      const run = stpp(args)
      expect(run.code).toBe(2)
      expect(run.stderr).toMatch(reason)
      expect(run.out.includes("securetrading.net")).toBe(false)
      expectClean(run.out)
    }
  })

  it("item 11: an unknown or misspelt field is exit 2 naming it and the fields allowed; a bad value says what is allowed", () => {
    const auth = {
      requesttypedescriptions: ["AUTH"],
      baseamount: "1050",
      currencyiso3a: "GBP",
      accounttypedescription: "ECOM",
      pan: VISA,
      expirydate: "12/2030",
      securitycode: "123"
    }
    const write = (name: string, json: unknown) => {
      const file = Path.join(dir, name)
      Fs.writeFileSync(file, JSON.stringify(json))
      return file
    }
    const { accounttypedescription: _, ...withoutType } = auth
    const typo = stpp(["request", "--body", write("typo.json", { ...withoutType, accounttypedescriptio: "ECOM" })])
    expect(typo.code).toBe(2)
    expect(typo.stderr).toMatch(/accounttypedescriptio is an unknown field; did you mean "accounttypedescription"\?/)
    expect(typo.stderr).toMatch(
      /allowed fields here: requesttypedescriptions, sitereference, baseamount, currencyiso3a/
    )
    expect(typo.stderr).toContain("extraFields")
    expectClean(typo.out)

    const bogus = stpp(["request", "--body", write("bogus.json", { ...auth, bogusfield: "x" })])
    expect(bogus.code).toBe(2)
    expect(bogus.stderr).toMatch(/bogusfield is an unknown field; allowed fields here: /)
    expect(bogus.stderr).not.toMatch(/did you mean/)
    expectClean(bogus.out)

    // a key that is a card number is not echoed as a field name
    const keyed = stpp(["request", "--body", write("keyed.json", { ...auth, [VISA]: "1" })])
    expect(keyed.code).toBe(2)
    expect(keyed.stderr).toMatch(/a key that is not a field name\) is an unknown field/)
    expectClean(keyed.out)

    // invalid values: what is allowed, never the value (here a card number where the currency goes)
    const values = stpp([
      "request",
      "--body",
      write("values.json", { ...auth, currencyiso3a: VISA, pan: 4111111111111111 })
    ])
    expect(values.code).toBe(2)
    expect(values.stderr).toMatch(/currencyiso3a is invalid; allowed: currencyiso3a must be three capital letters/)
    expect(values.stderr).toMatch(/pan is invalid; allowed: a JSON string/)
    expect(values.stderr).not.toMatch(/actual/)
    expectClean(values.out)

    // nested: the filter's allowed names
    const query = stpp([
      "request",
      "--body",
      write("query.json", {
        requesttypedescriptions: ["TRANSACTIONQUERY"],
        filter: { orderreference: [{ value: "x" }], ordereference: [{ value: "y" }] }
      })
    ])
    expect(query.code).toBe(2)
    expect(query.stderr).toMatch(
      /filter\.ordereference is an unknown field; did you mean "orderreference"\? allowed fields here: sitereference, transactionreference/
    )
    expectClean(query.out)

    // extraFields is the named way to send a field the model lacks, but not a typed one
    const typed = stpp(["request", "--body", write("typed.json", { ...auth, extraFields: { securitycode: "999" } })])
    expect(typed.code).toBe(2)
    expect(typed.stderr).toMatch(/"extraFields\.securitycode" is a typed field; allowed: set it directly/)
    expectClean(typed.out)
  })

  it("issue 19 item 5: a missing STPP_PASSWORD says what is missing and where it is read from", () => {
    const run = stpp(["request", "--body", body], { STPP_PASSWORD: "" })
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/STPP_PASSWORD is not set/)
    expect(run.stderr).toMatch(/environment/)
    expect(run.stderr.includes("<redacted>")).toBe(false)
  })
})
