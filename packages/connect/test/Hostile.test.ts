/**
 * Hostile input at the library's boundary (issue 17): settings that cannot be used are refused
 * with the setting's name and what is allowed, never echoing a secret; files named by settings are
 * read bounded, regular files only; a span's end reaches the app's tracer redacted.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as ConnectionConfig from "../src/ConnectionConfig.js"
import * as RedactingLogger from "../src/RedactingLogger.js"

const VISA = "4111111111111111"
const MC = "5555555555554444"
const PASSWORD = "PASSWORD-hunter2"
const TOKEN = Buffer.from(`webservices@merchant.example:${PASSWORD}`).toString("base64")

const problem = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConnectionConfig.config, ConfigProvider.fromMap(new Map(Object.entries(env)))).pipe(
    Effect.flip,
    Effect.map(ConnectionConfig.formatConfigError)
  )

describe("ConnectionConfig: settings that cannot be used are refused (C3, issue 17)", () => {
  it.effect("C3/L1 item 1: a URL with credentials that does not parse never echoes the password", () =>
    Effect.gen(function*() {
      const message = yield* problem({ STPP_URL: `https://user:${PASSWORD}@host:99999/json/` })
      expect(message).toMatch(/^STPP_URL: /)
      expect(message).toMatch(/allowed: an https URL/)
      expect(message).not.toContain(PASSWORD)
      expect(message).not.toContain("hunter2")
    }))

  it.effect("C3 item 11: port 0, an IP-literal host and a 300-character label are refused with a reason", () =>
    Effect.gen(function*() {
      expect(yield* problem({ STPP_URL: "https://gateway.example.test:0/json/" })).toMatch(
        /^STPP_URL: port 0 cannot be connected to .*allowed:/
      )
      expect(yield* problem({ STPP_URL: "https://127.0.0.1/json/" })).toMatch(
        /^STPP_URL: an IP address cannot be the host/
      )
      expect(yield* problem({ STPP_URL: "https://[::1]:8443/json/" })).toMatch(
        /^STPP_URL: an IP address cannot be the host/
      )
      expect(yield* problem({ STPP_URL: `https://${"a".repeat(300)}.example.test/json/` })).toMatch(
        /^STPP_URL: the host is not a DNS name/
      )
    }))

  it.effect("C3 items 9, 11: a blank nameserver list and a zoned IPv6 nameserver are refused, no crash", () =>
    Effect.gen(function*() {
      expect(yield* problem({ STPP_NAMESERVERS: ",," })).toMatch(/^STPP_NAMESERVERS: .*no server.*allowed:/)
      const zoned = yield* problem({ STPP_NAMESERVERS: "fe80::1%lo" })
      expect(zoned).toMatch(/^STPP_NAMESERVERS: .*zoned IPv6.*allowed:/)
      expect(Option.isNone(ConnectionConfig.parseNameserver("fe80::1%lo"))).toBe(true)
      expect(Option.isNone(ConnectionConfig.parseNameserver("[fe80::1%eth0]:53"))).toBe(true)
    }))

  it.effect("C3/L1: a card number or password put in the wrong variable is not echoed whole", () =>
    Effect.gen(function*() {
      for (
        const env of [
          { STPP_MAX_RETRIES: VISA },
          { STPP_CONNECT_TIMEOUT: `password=${PASSWORD}` },
          { STPP_DNS_ZONE: `x ${TOKEN}` },
          { STPP_NAMESERVERS: MC }
        ]
      ) {
        const message = yield* problem(env)
        expect(message).toMatch(/^STPP_[A-Z_]+: .*allowed:/)
        for (const secret of [VISA, MC, PASSWORD, TOKEN]) expect(message).not.toContain(secret)
      }
    }))

  it.effect("C3 (issue 19 item 5): a missing STPP_PASSWORD says what is missing and where it is read from", () =>
    Effect.gen(function*() {
      const error = yield* Config.redacted("STPP_PASSWORD").pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
        Effect.flip
      )
      const message = ConnectionConfig.formatConfigError(error)
      expect(message).toMatch(/^STPP_PASSWORD is not set; it is read from the environment variable STPP_PASSWORD/)
      expect(message).not.toContain("<redacted>")
    }))
})

describe("ConnectionConfig.readFileBounded: regular files only, with a limit (S3, issue 17 item 8)", () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "stpp-hostile-"))
  const cleanup = () => Fs.rmSync(dir, { recursive: true, force: true })

  const reasonOf = (path: string, max = 1024 * 1024) =>
    ConnectionConfig.readFileBounded(path, max).pipe(Effect.flip, Effect.map((e) => e.reason))

  it.effect("S3: /dev/zero, /dev/urandom and a directory are not regular files", () =>
    Effect.gen(function*() {
      expect(yield* reasonOf("/dev/zero")).toBe("not-a-file")
      expect(yield* reasonOf("/dev/urandom")).toBe("not-a-file")
      expect(yield* reasonOf(dir)).toBe("not-a-file")
      expect(yield* reasonOf(Path.join(dir, "missing.pem"))).toBe("not-found")
    }))

  it.effect("S3: a FIFO with no writer fails at once instead of hanging", () =>
    Effect.gen(function*() {
      const fifo = Path.join(dir, "fifo")
      ChildProcess.execFileSync("mkfifo", [fifo])
      expect(yield* reasonOf(fifo)).toBe("not-a-file")
    }))

  it.effect("S3: a huge (sparse) file is too large before a byte is read; a small one is read", () =>
    Effect.gen(function*() {
      const huge = Path.join(dir, "huge.json")
      Fs.closeSync(Fs.openSync(huge, "w"))
      Fs.truncateSync(huge, 1_181_116_006)
      const error = yield* ConnectionConfig.readFileBounded(huge, 1024 * 1024).pipe(Effect.flip)
      expect(error.reason).toBe("too-large")
      expect(error.message).toBe("larger than the limit of 1048576 bytes")
      const small = Path.join(dir, "small.json")
      Fs.writeFileSync(small, "{\"a\":1}")
      expect(yield* ConnectionConfig.readFileBounded(small, 16)).toBe("{\"a\":1}")
      expect(yield* reasonOf(small, 4)).toBe("too-large")
      cleanup()
    }))
})

describe("RedactingLogger.redactingTracer: a span's end is redacted (L1, issue 17 item 3)", () => {
  it.effect("L1: the Exit a span ends with reaches the app's tracer with no PAN, password or token", () =>
    Effect.gen(function*() {
      const ended: Array<Exit.Exit<unknown, unknown>> = []
      const base = Tracer.make({
        span: (name, parent, context, links, startTime, kind) => ({
          _tag: "Span",
          name,
          spanId: `s${ended.length}`,
          traceId: "t",
          parent,
          context,
          links,
          sampled: true,
          kind,
          status: { _tag: "Started", startTime },
          attributes: new Map(),
          attribute: () => undefined,
          event: () => undefined,
          addLinks: () => undefined,
          end: (_endTime, exit) => {
            ended.push(exit)
          }
        }),
        context: (f) => f()
      })
      const secret = `gateway echoed pan ${VISA} password=${PASSWORD} Authorization: Basic ${TOKEN}`
      const failing = Effect.fail(new Error(secret)).pipe(Effect.withSpan("gateway.request"))
      yield* Effect.exit(failing).pipe(Effect.withTracer(RedactingLogger.redactingTracer(base)))
      const defect = Effect.die({ pan: MC, message: secret }).pipe(Effect.withSpan("gateway.request"))
      yield* Effect.exit(defect).pipe(Effect.withTracer(RedactingLogger.redactingTracer(base)))
      expect(ended.length).toBe(2)
      for (const exit of ended) {
        expect(Exit.isFailure(exit)).toBe(true)
        const text = Exit.isFailure(exit) ? Cause.pretty(exit.cause) + JSON.stringify(Cause.squash(exit.cause)) : ""
        expect(text).toContain("gateway echoed")
        for (const s of [VISA, MC, PASSWORD, TOKEN]) expect(text).not.toContain(s)
      }
    }))
})
