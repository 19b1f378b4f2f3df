/**
 * The plain `stpp request` line that runs without `@effect/cli` (P2): which lines it takes, and that
 * the BUILT command answers the same through it as through the full command for the same options
 * (with `--log-level info`, the default, added: a line it leaves to `@effect/cli`).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Option from "effect/Option"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Direct from "../src/internal/direct.js"

const BIN = fileURLToPath(new URL("../bin/stpp.js", import.meta.url))

describe("Direct.parse", () => {
  it("takes request with --name value pairs of its own options", () => {
    const o = Direct.parse([
      "request",
      "--body",
      "a.json",
      "--nameserver",
      "127.0.0.1:53",
      "--url",
      "https://gw.example.test/json/",
      "--nameserver",
      "127.0.0.2",
      "--ca",
      "ca.pem",
      "--repeat",
      "3",
      "--interval",
      "5s",
      "--max-retries",
      "2",
      "--retry-timeout",
      "1s",
      "--connect-timeout",
      "2s",
      "--io-timeout",
      "3s",
      "--dns-timeout",
      "4s"
    ])
    expect(o).toEqual({
      body: "a.json",
      url: Option.some("https://gw.example.test/json/"),
      nameserver: ["127.0.0.1:53", "127.0.0.2"],
      ca: ["ca.pem"],
      maxRetries: Option.some("2"),
      retryTimeout: Option.some("1s"),
      connectTimeout: Option.some("2s"),
      ioTimeout: Option.some("3s"),
      dnsTimeout: Option.some("4s"),
      repeat: Option.some("3"),
      interval: Option.some("5s"),
      logLevel: Option.none()
    })
    expect(Direct.parse(["request", "--body", "a.json"])?.url).toEqual(Option.none())
  })

  it("leaves every other line to @effect/cli", () => {
    for (
      const args of [
        [],
        ["request"],
        ["doctor", "--host", "x"],
        ["--help"],
        ["request", "--help"],
        ["request", "--body", "a.json", "--help"],
        ["request", "-h", "--body", "a.json"],
        ["request", "--body", "a.json", "--log-level", "debug"],
        ["request", "--body=a.json"],
        ["request", "--body", "a.json", "--url"],
        ["request", "--body", "a.json", "--body", "b.json"],
        ["request", "--body", "a.json", "--url", "u", "--url", "v"],
        ["request", "--body", "-"],
        ["request", "--body", ""],
        ["request", "--body", "a.json", "--max-retries", "-1"],
        ["request", "--url", "u"],
        ["request", "--body", "a.json", "--wizard", "x"],
        ["request", "--body", "a.json", "extra", "x"],
        ["request", "--body", "a.json", "--", "x"],
        ["--version", "request", "--body", "a.json"]
      ]
    ) {
      expect(Direct.parse(args), JSON.stringify(args)).toBeUndefined()
    }
  })
})

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const stpp = (args: ReadonlyArray<string>, env: Record<string, string>): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = ChildProcess.spawn(process.execPath, [BIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

describe("stpp request, plain line and full command", () => {
  it("the same exit code, output and messages for the same options", async () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "stpp-direct-test-"))
    try {
      const env: Record<string, string> = {}
      for (const [k, v] of Object.entries(process.env)) {
        if (v !== undefined && !k.startsWith("STPP_")) env[k] = v
      }
      Object.assign(env, {
        STPP_USERNAME: "webservices@example.test",
        STPP_PASSWORD: "a-password-never-printed",
        STPP_CODE_CACHE_DIR: Path.join(dir, "cache")
      })
      const body = Path.join(dir, "auth.json")
      Fs.writeFileSync(body, JSON.stringify({ requesttypedescriptions: ["AUTH"], baseamount: "10.50" }))
      const cases: ReadonlyArray<ReadonlyArray<readonly [string, string]>> = [
        [["--body", body], ["--max-retries", "abc"]],
        [["--body", body], ["--repeat", "0"]],
        [["--body", body], ["--interval", "soon"]],
        [["--body", body], ["--url", "http://gw.example.test/json/"]],
        [["--body", body], ["--nameserver", "fe80::1%lo"]],
        [["--body", Path.join(dir, "missing.json")]],
        // nothing wrong with the options: the body's amount is refused before anything is sent
        [["--body", body], ["--ca", Path.join(dir, "missing.pem")]],
        [["--body", body]]
      ]
      for (const options of cases) {
        const plain = await stpp(["request", ...options.flat()], env)
        const full = await stpp(["request", ...options.flat(), "--log-level", "info"], env)
        expect(plain.code, JSON.stringify(options)).toBe(2)
        expect(full, JSON.stringify(options)).toEqual(plain)
        expect(plain.stderr).toMatch(/^stpp: /)
        expect(plain.stderr).not.toContain("a-password-never-printed")
      }
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
