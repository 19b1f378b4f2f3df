/**
 * The `stpp` command's contract, by running the BUILT command (`node packages/cli/bin/stpp.js`, so
 * `tsc --build` must have run: `pnpm test` does) as a child process against a simulator started
 * here, in this process, on loopback. Every child is killed at the end of its test or after its
 * time-out.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cli from "@stpp/cli/Cli"
import * as GatewayServer from "@stpp/simulator/GatewayServer"
import * as Simulator from "@stpp/simulator/Simulator"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const BIN = fileURLToPath(new URL("../bin/stpp.js", import.meta.url))
const ADDRESSES = ["127.0.0.81", "127.0.0.82", "127.0.0.83"]
const VISA = "4111111111111111"

interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** The environment without the developer's own STPP_* settings. */
const baseEnv = (): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("STPP_")) out[k] = v
  }
  return out
}

/** Runs the built command; killed after `timeoutMs` or when the test's scope ends. */
const stpp = (
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {},
  timeoutMs = 30_000
): Effect.Effect<Run> =>
  Effect.async<Run>((resume) => {
    const child = ChildProcess.spawn(process.execPath, [BIN, ...args], {
      env: { ...baseEnv(), ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resume(Effect.succeed({ code, signal, stdout, stderr }))
    })
    return Effect.sync(() => {
      clearTimeout(timer)
      child.kill("SIGKILL")
    })
  })

/** A temporary directory with the request files, removed with the scope. */
const bodies = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "stpp-cli-test-"))
    const write = (name: string, content: string) => {
      const file = Path.join(dir, name)
      Fs.writeFileSync(file, content)
      return file
    }
    const auth = (orderreference: string) => ({
      requesttypedescriptions: ["AUTH"],
      baseamount: "1050",
      currencyiso3a: "GBP",
      accounttypedescription: "ECOM",
      orderreference,
      pan: VISA,
      expirydate: "12/2030",
      securitycode: "123"
    })
    return {
      dir,
      auth: write("auth.json", JSON.stringify(auth("cli-test"))),
      notJson: write("not-json.json", `{"pan": "${VISA}", oops`),
      badAmount: write("bad-amount.json", JSON.stringify({ ...auth("x"), baseamount: "10.50" })),
      /** The test bank's amounts: 60010 is the bank-system error (final status not known), 70000 declines. */
      bankError: write("bank-error.json", JSON.stringify({ ...auth("cli-60010"), baseamount: "60010" })),
      decline: write("decline.json", JSON.stringify({ ...auth("cli-70000"), baseamount: "70000" })),
      missing: Path.join(dir, "missing.json")
    }
  }),
  ({ dir }) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const lines = (stdout: string): ReadonlyArray<Record<string, unknown>> =>
  stdout.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, unknown>)

const luhn = (digits: string): boolean => {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

/** L1: no card number: not the test PAN, and no 13-19 digit Luhn-valid run (spaces and dashes ignored). */
const expectNoCardNumber = (text: string) => {
  expect(text.includes(VISA)).toBe(false)
  const joined = text.replace(/(\d)[ -](?=\d)/g, "$1")
  const runs = (joined.match(/\d{13,19}/g) ?? []).filter((run) => /^\d+$/.test(run))
  const luhnValid = runs.filter((run) => {
    const at = joined.indexOf(run)
    const before = at > 0 ? joined[at - 1] : ""
    const after = joined[at + run.length] ?? ""
    return !/\d/.test(before) && !/\d/.test(after) && luhn(run)
  })
  expect(luhnValid).toEqual([])
}

const startSim = (options: Simulator.Options = {}) => Simulator.start({ addresses: ADDRESSES, ...options })

/** Waits (bounded) until the simulator has received `n` requests. */
const awaitRequests = (sim: Simulator.Simulator, n: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500 && sim.requestsReceived() < n; i++) yield* Effect.sleep("10 millis")
    return sim.requestsReceived()
  })

// -----------------------------------------------------------------------------
// help
// -----------------------------------------------------------------------------

describe("stpp --version", () => {
  it.live("answered without the bundle, with the same text and exit code as the full command (P2)", () =>
    Effect.gen(function*() {
      const fast = yield* stpp(["--version"])
      expect(fast.code).toBe(0)
      expect(fast.stdout).toBe(`${Cli.VERSION}\n\n`)
      // --version among other arguments goes through @effect/cli: the same answer
      const full = yield* stpp(["--version", "--log-level", "info"])
      expect(full.code).toBe(0)
      expect(full.stdout).toBe(fast.stdout)
    }))
})

describe("the bundle's code cache (P2)", () => {
  const tempDir = Effect.acquireRelease(
    Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "stpp-cli-cache-"))),
    (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
  )
  const cacheFiles = (dir: string) =>
    Fs.existsSync(dir) ? Fs.readdirSync(dir).filter((f) => f.endsWith(".v8cache")).sort() : []

  it.scopedLive("written by the first run of a command, read (not rewritten) by the next; a bad one is replaced", () =>
    Effect.gen(function*() {
      const sim = yield* startSim()
      const files = yield* bodies
      const dir = Path.join(yield* tempDir, "cache")
      const env = { ...sim.env, STPP_CODE_CACHE_DIR: dir }
      const first = yield* stpp(["request", "--body", files.auth], env)
      expect(first.code).toBe(0)
      expect(lines(first.stdout)[0].outcome).toBe("ok")
      const written = cacheFiles(dir)
      expect(written).toHaveLength(1)
      expect(written[0]).toMatch(/^stpp-request-[0-9a-f]{20}\.v8cache$/)
      const file = Path.join(dir, written[0])
      expect(Fs.statSync(dir).mode & 0o777).toBe(0o700)
      expect(Fs.statSync(file).mode & 0o777).toBe(0o600)
      const bytes = Fs.readFileSync(file)
      expect(bytes.length).toBeGreaterThan(100_000)

      // V8 took it: the next run leaves it as it was, and answers the same
      const second = yield* stpp(["request", "--body", files.auth], env)
      expect(second.code).toBe(0)
      expect(lines(second.stdout)[0].outcome).toBe("ok")
      expect(Fs.readFileSync(file).equals(bytes)).toBe(true)

      // a damaged file: rejected, the bundle compiled without it, the file written anew
      Fs.writeFileSync(file, "not a code cache")
      const third = yield* stpp(["request", "--body", files.auth], env)
      expect(third.code).toBe(0)
      expect(lines(third.stdout)[0].outcome).toBe("ok")
      expect(cacheFiles(dir)).toEqual(written)
      expect(Fs.readFileSync(file).length).toBeGreaterThan(100_000)
      expect(sim.requestsReceived()).toBe(3)
    }))

  it.scopedLive("in $XDG_CACHE_HOME/stpp by default, per command; none with STPP_CODE_CACHE_DIR empty", () =>
    Effect.gen(function*() {
      const home = yield* tempDir
      const help = yield* stpp(["--help"], { XDG_CACHE_HOME: home })
      expect(help.code).toBe(0)
      expect(cacheFiles(Path.join(home, "stpp"))).toEqual([expect.stringMatching(/^stpp-other-/)])
      const usage = yield* stpp(["request"], { XDG_CACHE_HOME: home })
      expect(usage.code).toBe(2)
      expect(cacheFiles(Path.join(home, "stpp")).map((f) => f.split("-")[1])).toEqual(["other", "request"])

      const none = yield* tempDir
      const off = yield* stpp(["--help"], { XDG_CACHE_HOME: none, STPP_CODE_CACHE_DIR: "" })
      expect(off.code).toBe(0)
      expect(off.stdout).toBe(help.stdout)
      expect(Fs.readdirSync(none)).toEqual([])
    }))
})

describe("stpp --help", () => {
  it.live("every command has --help naming its options (exit 0)", () =>
    Effect.gen(function*() {
      const root = yield* stpp(["--help"])
      expect(root.code).toBe(0)
      for (const c of ["request", "doctor", "demo"]) expect(root.stdout).toContain(c)
      const request = yield* stpp(["request", "--help"])
      expect(request.code).toBe(0)
      for (
        const o of [
          "--body",
          "--url",
          "--nameserver",
          "--ca",
          "--max-retries",
          "--retry-timeout",
          "--connect-timeout",
          "--io-timeout",
          "--dns-timeout",
          "--repeat",
          "--interval",
          "--log-level"
        ]
      ) expect(request.stdout).toContain(o)
      const doctor = yield* stpp(["doctor", "--help"])
      expect(doctor.code).toBe(0)
      for (const o of ["--host", "--nameserver", "--ca", "--json"]) expect(doctor.stdout).toContain(o)
      const demo = yield* stpp(["demo", "--help"])
      expect(demo.code).toBe(0)
      expect(demo.stdout).toContain("demo")
    }))

  it.live("through a pipe: plain text, each option with its own description first, usage from stpp", () =>
    Effect.gen(function*() {
      const settings: Record<string, string> = {
        "--url": "Overrides STPP_URL.",
        "--nameserver": "Overrides STPP_NAMESERVERS.",
        "--ca": "Overrides STPP_CA_FILE.",
        "--connect-timeout": "Overrides STPP_CONNECT_TIMEOUT.",
        "--dns-timeout": "Overrides STPP_DNS_TIMEOUT.",
        "--log-level": "Overrides STPP_LOG_LEVEL."
      }
      const pages: ReadonlyArray<readonly [ReadonlyArray<string>, Record<string, string>]> = [
        [["request", "--help"], {
          ...settings,
          "--body": "A JSON file holding the request object",
          "--max-retries": "Overrides STPP_MAX_RETRIES.",
          "--retry-timeout": "Overrides STPP_RETRY_TIMEOUT.",
          "--io-timeout": "Overrides STPP_IO_TIMEOUT.",
          "--repeat": "Send the request N times from one process",
          "--interval": "Pause between repeated requests"
        }],
        [["doctor", "--help"], {
          ...settings,
          "--host": "The gateway host to check",
          "--port": "The gateway port to check",
          "--json": "Print the report as one JSON object."
        }],
        [["demo", "--help"], { "--log-level": settings["--log-level"] }],
        [["--help"], {}]
      ]
      for (const [args, descriptions] of pages) {
        const run = yield* stpp(args)
        expect(run.code).toBe(0)
        expect(run.stderr).toBe("")
        expect(run.stdout).not.toContain("\u001b[")
        expect(run.stdout).not.toContain("A user-defined piece of text.")
        expect(run.stdout).not.toContain("A true or false value.")
        // The paragraph right under each option's heading ("--body FILE") is the option's own text.
        const lines = run.stdout.split("\n")
        for (const [option, description] of Object.entries(descriptions)) {
          const at = lines.findIndex((l) => l === option || l.startsWith(`${option} `))
          expect(at, `${args.join(" ")}: ${option}`).toBeGreaterThanOrEqual(0)
          const first = lines.slice(at + 1).find((l) => l.trim() !== "")
          expect(first, `${args.join(" ")}: ${option}`).toContain(description)
        }
      }
      const request = yield* stpp(["request", "--help"])
      const usage = request.stdout.split("\n").find((l) => l.startsWith("$ "))
      expect(usage).toMatch(/^\$ stpp request --body FILE /)
      expect(usage).toContain("[--nameserver IP[:PORT]...]")
      expect(usage).toContain("[--ca FILE...]")
      const doctor = yield* stpp(["doctor", "--help"])
      expect(doctor.stdout).toContain("$ stpp doctor [--host NAME]")
      expect(doctor.stdout).toContain("[--nameserver IP[:PORT]...] [--ca FILE...]")
    }))
})

// -----------------------------------------------------------------------------
// request: outcomes and exit codes
// -----------------------------------------------------------------------------

describe("stpp request", () => {
  it.scopedLive("exit 0: one JSON line with outcome, address, attempts, elapsedMs, error, response", () =>
    Effect.gen(function*() {
      const sim = yield* startSim()
      const files = yield* bodies
      const run = yield* stpp(["request", "--body", files.auth], sim.env)
      expect(run.code).toBe(0)
      const out = lines(run.stdout)
      expect(out.length).toBe(1)
      const line = out[0]
      expect(Object.keys(line).slice(0, 6)).toEqual([
        "outcome",
        "address",
        "attempts",
        "elapsedMs",
        "error",
        "response"
      ])
      expect(line.outcome).toBe("ok")
      expect(ADDRESSES).toContain(line.address)
      expect(line.attempts).toBe(1)
      expect(typeof line.elapsedMs).toBe("number")
      expect(line.error).toBe(null)
      const response = line.response as { requestreference: string; response: Array<Record<string, string>> }
      expect(response.requestreference).toBe(line.reference)
      expect(response.response[0].errorcode).toBe("0")
      expect(response.response[0].requesttypedescription).toBe("AUTH")
      expect(sim.requestsReceived()).toBe(1)
      expectNoCardNumber(run.stdout + run.stderr)
      expect(run.stderr).not.toContain(sim.password)
    }))

  it.scopedLive("issue 17 item 7: STPP_PAN_MASK=last4 masks the stdout JSON line too (no first 6 digits)", () =>
    Effect.gen(function*() {
      const sim = yield* startSim()
      const files = yield* bodies
      const run = yield* stpp(["request", "--body", files.auth], { ...sim.env, STPP_PAN_MASK: "last4" })
      expect(run.code).toBe(0)
      const out = lines(run.stdout)
      expect(out.length).toBe(1)
      const response = out[0].response as { response: Array<Record<string, string>> }
      expect(response.response[0].errorcode).toBe("0")
      expect(response.response[0].maskedpan).toBe("******######1111")
      expect(run.stdout).toContain(`"maskedpan":"******######1111"`)
      expect(run.stdout + run.stderr).not.toContain("411111")
      expectNoCardNumber(run.stdout + run.stderr)
      // the default mask keeps the first 6 (the contract without the variable)
      const first6 = yield* stpp(["request", "--body", files.auth], sim.env)
      expect(first6.code).toBe(0)
      expect(first6.stdout).toContain(`"maskedpan":"411111######1111"`)
    }))

  it.scopedLive("--repeat 3 reuses the connection: attempts 1, then 0, 0", () =>
    Effect.gen(function*() {
      const sim = yield* startSim()
      const files = yield* bodies
      const run = yield* stpp(["request", "--body", files.auth, "--repeat", "3"], sim.env)
      expect(run.code).toBe(0)
      const out = lines(run.stdout)
      expect(out.map((l) => l.outcome)).toEqual(["ok", "ok", "ok"])
      expect(out.map((l) => l.attempts)).toEqual([1, 0, 0])
      expect(new Set(out.map((l) => l.address)).size).toBe(1)
      expect(new Set(out.map((l) => l.reference)).size).toBe(3)
      expect(sim.gateway.handshakesCompleted()).toBe(1)
    }))

  it.scopedLive("--repeat: the worst outcome decides, not the last (outcome unknown then ok: exit 4)", () =>
    Effect.gen(function*() {
      const sim = yield* startSim()
      const files = yield* bodies
      for (const a of ADDRESSES) yield* sim.setFault(a, GatewayServer.Fault.ResetAfterRequest({}))
      const child = yield* Effect.fork(
        stpp(["request", "--body", files.auth, "--repeat", "2", "--interval", "1500ms"], sim.env)
      )
      expect(yield* awaitRequests(sim, 1)).toBeGreaterThanOrEqual(1)
      for (const a of ADDRESSES) yield* sim.setFault(a, GatewayServer.Fault.None())
      const run = yield* Fiber.join(child)
      expect(lines(run.stdout).map((l) => l.outcome)).toEqual(["outcome_unknown", "ok"])
      expect(run.code).toBe(4)
    }))

  it.scopedLive("exit 3 not sent: DNS names an address that refuses connections", () =>
    Effect.gen(function*() {
      const sim = yield* startSim()
      const files = yield* bodies
      yield* sim.pointDnsAt("127.0.0.89")
      const run = yield* stpp(
        ["request", "--body", files.auth, "--retry-timeout", "1s", "--connect-timeout", "200ms", "--max-retries", "2"],
        sim.env
      )
      expect(run.code).toBe(3)
      const [line] = lines(run.stdout)
      expect(line.outcome).toBe("not_sent")
      expect(line.address).toBe("127.0.0.89")
      expect(line.error).toBe("ConnectRefused")
      expect(line.attempts).toBeGreaterThanOrEqual(1)
      expect(line.attempts).toBeLessThanOrEqual(3)
      expect(line.response).toBe(null)
      expect(sim.requestsReceived()).toBe(0)
    }))

  it.scopedLive("exit 4 outcome unknown: the gateway resets the connection after reading the request", () =>
    Effect.gen(function*() {
      const sim = yield* startSim()
      const files = yield* bodies
      for (const a of ADDRESSES) yield* sim.setFault(a, GatewayServer.Fault.ResetAfterRequest({}))
      const run = yield* stpp(["request", "--body", files.auth], sim.env)
      expect(run.code).toBe(4)
      const [line] = lines(run.stdout)
      expect(line.outcome).toBe("outcome_unknown")
      expect(line.error).toBe("OutcomeUnknown")
      expect(ADDRESSES).toContain(line.address)
      expect(line.response).toBe(null)
      // the gateway did process it: the request must not be resent, and was not
      expect(sim.requestsReceived()).toBe(1)
      expectNoCardNumber(run.stdout + run.stderr)
    }))

  it.scopedLive("exit 5 refused: an expired certificate; nothing is sent", () =>
    Effect.gen(function*() {
      const sim = yield* startSim({ leaf: "expired" })
      const files = yield* bodies
      const run = yield* stpp(["request", "--body", files.auth], sim.env)
      expect(run.code).toBe(5)
      const [line] = lines(run.stdout)
      expect(line.outcome).toBe("refused")
      expect(line.error).toBe("CertificateExpired")
      expect(line.attempts).toBe(1)
      expect(sim.requestsReceived()).toBe(0)
    }))

  it.scopedLive("G1: errorcode 60010 is outcome_unknown (FinalStatusUnknown), exit 4; the answer is kept", () =>
    Effect.gen(function*() {
      const sim = yield* startSim()
      const files = yield* bodies
      const run = yield* stpp(["request", "--body", files.bankError], sim.env)
      expect(run.code).toBe(4)
      const [line] = lines(run.stdout)
      expect(line.outcome).toBe("outcome_unknown")
      expect(line.error).toBe("FinalStatusUnknown")
      expect(line.status).toBe(200)
      expect(String(line.message)).toContain("60010")
      expect(String(line.message)).toContain(String(line.reference))
      const response = line.response as { response: Array<Record<string, string>> }
      expect(response.response[0].errorcode).toBe("60010")
      expect(sim.requestsReceived()).toBe(1)
      expectNoCardNumber(run.stdout + run.stderr)
    }))

  it.scopedLive("G1: a decline (70000) stays an answer: outcome ok, exit 0", () =>
    Effect.gen(function*() {
      const sim = yield* startSim()
      const files = yield* bodies
      const run = yield* stpp(["request", "--body", files.decline], sim.env)
      expect(run.code).toBe(0)
      const [line] = lines(run.stdout)
      expect(line.outcome).toBe("ok")
      expect((line.response as { response: Array<Record<string, string>> }).response[0].errorcode).toBe("70000")
    }))

  it.scopedLive("G2: HTTP 401 is Unauthenticated naming STPP_USERNAME / STPP_PASSWORD, exit 2, not repeated", () =>
    Effect.gen(function*() {
      const sim = yield* startSim()
      const files = yield* bodies
      const run = yield* stpp(
        ["request", "--body", files.auth, "--repeat", "3"],
        { ...sim.env, STPP_PASSWORD: "not-the-password" }
      )
      expect(run.code).toBe(2)
      const out = lines(run.stdout)
      expect(out.length).toBe(1)
      const [line] = out
      expect(line.outcome).toBe("unauthenticated")
      expect(line.error).toBe("Unauthenticated")
      expect(line.status).toBe(401)
      expect(line.response).toBe(null)
      expect(String(line.message)).toContain("STPP_USERNAME")
      expect(String(line.message)).toContain("STPP_PASSWORD")
      expect(run.stdout + run.stderr).not.toContain("not-the-password")
      expect(sim.transactions().length).toBe(0)
    }))

  it.scopedLive("G3: the request reference goes in every request item too", () =>
    Effect.gen(function*() {
      const sim = yield* startSim()
      const files = yield* bodies
      const run = yield* stpp(["request", "--body", files.auth], sim.env)
      expect(run.code).toBe(0)
      const [line] = lines(run.stdout)
      const [logged] = sim.gateway.requestLog()
      expect(logged.requestreference).toBe(line.reference)
      expect(logged.itemReferences).toEqual([line.reference])
      expect(logged.versioninfo).toMatch(/^Node::.+::stpp-connect_/)
    }))

  it.scopedLive(
    "exit 2: bad options, bad variables, missing credentials, bad body: a one-line message, nothing sent",
    () =>
      Effect.gen(function*() {
        const sim = yield* startSim()
        const files = yield* bodies
        const cases: ReadonlyArray<
          readonly [args: ReadonlyArray<string>, env: Record<string, string>, expected: RegExp]
        > = [
          [
            ["--connect-timeout", "banana"],
            {},
            /^stpp: --connect-timeout: the value given \(6 characters, not shown\) is not a duration.*allowed/
          ],
          [["--retry-timeout", "2h"], {}, /^stpp: --retry-timeout: .*out of range/],
          [["--max-retries", "-1"], {}, /^stpp: --max-retries: /],
          [["--io-timeout", "soon"], {}, /^stpp: --io-timeout: /],
          [["--dns-timeout", "1m"], {}, /^stpp: --dns-timeout: /],
          [["--url", "http://example.test/json/"], {}, /^stpp: --url: .*https only/],
          [
            ["--nameserver", "not-an-ip"],
            {},
            /^stpp: --nameserver: the value given \(9 characters, not shown\) is not an IP/
          ],
          [["--ca", Path.join(files.dir, "no-such.pem")], {}, /^stpp: --ca: .*does not exist/],
          [
            ["--log-level", "loud"],
            {},
            /^stpp: --log-level: the value given \(4 characters, not shown\).*allowed: all, trace, debug/
          ],
          [["--repeat", "0"], {}, /^stpp: --repeat: 0 is out of range/],
          [["--interval", "later"], {}, /^stpp: --interval: "later" is not a duration/],
          [
            [],
            { STPP_CONNECT_TIMEOUT: "banana" },
            /^stpp: STPP_CONNECT_TIMEOUT: the value given \(6 characters, not shown\) is not a duration/
          ],
          [
            [],
            { STPP_MAX_RETRIES: "lots" },
            /^stpp: STPP_MAX_RETRIES: the value given \(4 characters, not shown\) is not a whole number/
          ],
          [[], { STPP_PASSWORD: "" }, /^stpp: STPP_PASSWORD is not set/],
          [[], { STPP_USERNAME: "" }, /^stpp: STPP_USERNAME is not set/],
          [["--unknown-option", "x"], {}, /unknown-option/]
        ]
        // three at a time: each is a whole Node process
        const runs = yield* Effect.forEach(
          cases,
          ([args, env]) => stpp(["request", "--body", files.auth, ...args], { ...sim.env, ...env }),
          { concurrency: 3 }
        )
        for (const [i, [args, env, expected]] of cases.entries()) {
          const run = runs[i]
          expect({ args, env, code: run.code }).toEqual({ args, env, code: 2 })
          expect(run.stdout).toBe("")
          expect(run.stderr.trim()).toMatch(expected)
          expect(run.stderr).not.toContain(sim.password)
        }
        const bodyCases: ReadonlyArray<readonly [file: string, expected: RegExp]> = [
          [files.missing, /^stpp: --body: cannot read ".*missing.json": no such file/],
          [files.notJson, /^stpp: --body: ".*not-json.json" is not valid JSON/],
          [files.badAmount, /^stpp: --body: the request .* \(AUTH\) is invalid at baseamount/]
        ]
        const bodyRuns = yield* Effect.forEach(bodyCases, ([file]) => stpp(["request", "--body", file], sim.env), {
          concurrency: 3
        })
        for (const [i, [file, expected]] of bodyCases.entries()) {
          const run = bodyRuns[i]
          expect({ file, code: run.code }).toEqual({ file, code: 2 })
          expect(run.stderr.trim()).toMatch(expected)
          expectNoCardNumber(run.stdout + run.stderr)
        }
        const noBody = yield* stpp(["request"], sim.env)
        expect(noBody.code).toBe(2)
        const noPassword = { ...sim.env } as Record<string, string>
        delete noPassword.STPP_PASSWORD
        const missing = yield* stpp(["request", "--body", files.auth], noPassword)
        expect(missing.code).toBe(2)
        expect(missing.stderr).toMatch(/STPP_PASSWORD is not set/)
        expect(sim.requestsReceived()).toBe(0)
      }),
    { timeout: 180_000 }
  )
})

// -----------------------------------------------------------------------------
// doctor
// -----------------------------------------------------------------------------

describe("stpp doctor", () => {
  it.scopedLive("D5: exit 0 against a healthy gateway: nameservers, answers with TTL, chain, versions, verdict", () =>
    Effect.gen(function*() {
      const sim = yield* startSim()
      const run = yield* stpp(["doctor"], sim.env)
      expect(run.code).toBe(0)
      expect(run.stdout).toContain(sim.nameservers[0])
      expect(run.stdout).toContain("TTL 1 s")
      for (const a of ADDRESSES) expect(run.stdout).toContain(a)
      expect(run.stdout).toContain("CN=webservices.securetrading.test")
      expect(run.stdout).toContain("days left")
      expect(run.stdout).toContain(process.versions.node)
      expect(run.stdout).toContain(process.versions.openssl)
      expect(run.stdout).toContain("Verdict: healthy")
      const json = yield* stpp(["doctor", "--json"], sim.env)
      expect(json.code).toBe(0)
      const report = JSON.parse(json.stdout) as {
        verdict: string
        tls: Array<{ address: string; protocol: string; chain: Array<{ daysLeft: number }> }>
        answers: Array<{ ttlSeconds: number; addresses: Array<string> }>
      }
      expect(report.verdict).toBe("healthy")
      expect(report.tls.map((t) => t.address).sort()).toEqual(ADDRESSES)
      expect(report.tls[0].protocol).toMatch(/^TLSv1\.[23]$/)
      expect(report.answers[0].ttlSeconds).toBe(1)
    }))

  it.scopedLive("S3: exit 1 against a gateway serving an expired certificate", () =>
    Effect.gen(function*() {
      const sim = yield* startSim({ leaf: "expired" })
      const run = yield* stpp(["doctor", "--host", sim.hostname], sim.env)
      expect(run.code).toBe(1)
      expect(run.stdout).toContain("CertificateExpired")
      expect(run.stdout).toMatch(/problem\(s\) found/)
      // the refused chain as the server sent it: the expired leaf, then its issuer
      expect(run.stdout).toContain("served:")
      expect(run.stdout).toMatch(/leaf CN=[^\n]*\n\s+issued by [^\n]*EXPIRED \d+ days ago/)
      const json = yield* stpp(["doctor", "--host", sim.hostname, "--json"], sim.env)
      const report = JSON.parse(json.stdout) as {
        tls: Array<{ ok: boolean; chain: Array<{ daysLeft: number }> }>
      }
      expect(report.tls.length).toBeGreaterThan(0)
      for (const t of report.tls) {
        expect(t.ok).toBe(false)
        expect(t.chain.length).toBeGreaterThan(0)
        expect(t.chain[0].daysLeft).toBeLessThan(0)
      }
    }))
})

// -----------------------------------------------------------------------------
// demo
// -----------------------------------------------------------------------------

describe("stpp demo", () => {
  it.live("runs every step as expected (exit 0) and prints no card number", () =>
    Effect.gen(function*() {
      const run = yield* stpp(["demo"], {}, 60_000)
      expect(run.stdout).toContain("All 6 steps behaved as expected")
      expect(run.code).toBe(0)
      expect(run.stdout).toContain("411111######1111")
      expectNoCardNumber(run.stdout + run.stderr)
    }), { timeout: 90_000 })
})
