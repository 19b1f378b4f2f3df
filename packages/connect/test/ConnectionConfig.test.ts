import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as ConnectionConfig from "../src/ConnectionConfig.js"

const fromEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConnectionConfig.config, ConfigProvider.fromMap(new Map(Object.entries(env))))

const problem = (env: Record<string, string>) =>
  fromEnv(env).pipe(Effect.flip, Effect.map(ConnectionConfig.formatConfigError))

describe("ConnectionConfig", () => {
  it.effect("C3/R1: defaults come from the guide", () =>
    Effect.gen(function*() {
      const s = yield* fromEnv({})
      expect(s.maxRetries).toBe(20)
      expect(Duration.toMillis(s.retryTimeout)).toBe(40_000)
      expect(Duration.toMillis(s.connectTimeout)).toBe(5_000)
      expect(Duration.toMillis(s.ioTimeout)).toBe(60_000)
      expect(Duration.toMillis(s.dnsTimeout)).toBe(1_000)
      expect(Duration.toMillis(s.dnsMaxTtl)).toBe(60_000)
      expect(s.url.href).toBe("https://webservices.securetrading.net/json/")
      expect(s.dnsZone).toBe("securetrading.net")
      expect(s.logLevel).toBe("info")
      expect(s.nameservers).toEqual([])
      expect(s).toEqual(ConnectionConfig.defaults)
    }))

  it.effect("C3: every setting is read from its STPP_* variable", () =>
    Effect.gen(function*() {
      const s = yield* fromEnv({
        STPP_MAX_RETRIES: "3",
        STPP_RETRY_TIMEOUT: "10 seconds",
        STPP_CONNECT_TIMEOUT: "500ms",
        STPP_IO_TIMEOUT: "1m",
        STPP_NAMESERVERS: "127.0.0.2:5353, 127.0.0.3,[::1]:53",
        STPP_URL: "https://gateway.example.test:8443/json/",
        STPP_CA_FILE: "/a.pem,/b.pem",
        STPP_LOG_LEVEL: "DEBUG"
      })
      expect(s.maxRetries).toBe(3)
      expect(Duration.toMillis(s.retryTimeout)).toBe(10_000)
      expect(Duration.toMillis(s.connectTimeout)).toBe(500)
      expect(Duration.toMillis(s.ioTimeout)).toBe(60_000)
      expect(s.nameservers).toEqual([
        { address: "127.0.0.2", port: 5353 },
        { address: "127.0.0.3", port: 53 },
        { address: "::1", port: 53 }
      ])
      expect(ConnectionConfig.endpoint(s)).toEqual({ host: "gateway.example.test", port: 8443 })
      expect(s.dnsZone).toBe("example.test")
      expect(s.caFiles).toEqual(["/a.pem", "/b.pem"])
      expect(s.logLevel).toBe("debug")
    }))

  it.effect("C3: a bad value names the setting, the problem and what is allowed", () =>
    Effect.gen(function*() {
      expect(yield* problem({ STPP_CONNECT_TIMEOUT: "banana" })).toBe(
        "STPP_CONNECT_TIMEOUT: the value given (6 characters, not shown) is not a duration, e.g. \"5 seconds\", \"500 millis\", \"500ms\", \"5s\" or \"1m\"; allowed: a duration from 1ms to 10m"
      )
      expect(yield* problem({ STPP_MAX_RETRIES: "-1" })).toBe(
        "STPP_MAX_RETRIES: -1 is out of range; allowed: a whole number from 0 to 1000"
      )
      expect(yield* problem({ STPP_MAX_RETRIES: "many" })).toMatch(
        /^STPP_MAX_RETRIES: the value given \(4 characters, not shown\) is not a whole number/
      )
      expect(yield* problem({ STPP_NAMESERVERS: "127.0.0.1:99999" })).toMatch(/^STPP_NAMESERVERS: "127.0.0.1:99999"/)
      expect(yield* problem({ STPP_URL: "http://x.test/" })).toMatch(/^STPP_URL: "http:" is not allowed/)
      expect(yield* problem({ STPP_LOG_LEVEL: "loud" })).toMatch(/allowed: all, trace, debug, info/)
      expect(yield* problem({ STPP_RETRY_BASE_DELAY: "5s", STPP_RETRY_MAX_DELAY: "1s" })).toMatch(
        /^STPP_RETRY_BASE_DELAY: .* longer than STPP_RETRY_MAX_DELAY/
      )
      expect(yield* problem({ STPP_TRUST_STORE: "only" })).toMatch(/^STPP_TRUST_STORE:/)
    }))

  it.effect("C3, issue 17 items 1, 9, 11: what cannot be used is refused with a reason, never echoing a secret", () =>
    Effect.gen(function*() {
      const unparsable = yield* problem({ STPP_URL: "https://user:PASSWORD@host:99999/json/" })
      expect(unparsable.startsWith("STPP_URL: ")).toBe(true)
      expect(unparsable.includes("PASSWORD")).toBe(false)
      expect(yield* problem({ STPP_URL: "https://x.test:0/json/" })).toMatch(/^STPP_URL: port 0 cannot be connected/)
      expect(yield* problem({ STPP_URL: "https://127.0.0.1/json/" })).toMatch(/^STPP_URL: an IP address cannot be/)
      expect(yield* problem({ STPP_URL: "https://[::1]/json/" })).toMatch(/^STPP_URL: an IP address cannot be/)
      expect(yield* problem({ STPP_URL: `https://${"a".repeat(300)}.test/json/` })).toMatch(
        /^STPP_URL: the host is not a DNS name/
      )
      expect(yield* problem({ STPP_NAMESERVERS: "fe80::1%lo" })).toMatch(/^STPP_NAMESERVERS: .*zoned IPv6/)
      expect(yield* problem({ STPP_NAMESERVERS: " , " })).toMatch(/^STPP_NAMESERVERS: holds no server/)
      const secret = yield* problem({ STPP_CONNECT_TIMEOUT: "S3cretPass" })
      expect(secret.includes("S3cretPass")).toBe(false)
      const pan = yield* problem({ STPP_MAX_RETRIES: "4111111111111111" })
      expect(pan.includes("4111111111111111")).toBe(false)
    }))

  it.effect("C3, issue 17 item 8: files named by settings are read bounded, regular files only", () =>
    Effect.gen(function*() {
      const reason = (path: string, max: number) =>
        ConnectionConfig.readFileBounded(path, max).pipe(Effect.flip, Effect.map((e) => e.reason))
      expect(yield* reason("/dev/zero", 1024)).toBe("not-a-file")
      expect(yield* reason("/dev/urandom", 1024)).toBe("not-a-file")
      expect(yield* reason("/nonexistent/ca.pem", 1024)).toBe("not-found")
      expect(yield* reason("/tmp", 1024)).toBe("not-a-file")
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "stpp-config-"))
      try {
        const big = Path.join(dir, "big")
        Fs.writeFileSync(big, "")
        Fs.truncateSync(big, 1_100 * 1024 * 1024) // sparse: 1.1 GB that takes no disk
        expect(yield* reason(big, ConnectionConfig.MAX_CA_FILE_BYTES)).toBe("too-large")
        const fifo = Path.join(dir, "fifo")
        ChildProcess.execFileSync("mkfifo", [fifo])
        expect(yield* reason(fifo, 1024)).toBe("not-a-file")
        const ok = Path.join(dir, "ok")
        Fs.writeFileSync(ok, "hello")
        expect(yield* ConnectionConfig.readFileBounded(ok, 1024)).toBe("hello")
      } finally {
        Fs.rmSync(dir, { recursive: true, force: true })
      }
    }))

  it.effect("C3: credentials in the URL are refused without being echoed", () =>
    Effect.gen(function*() {
      const message = yield* problem({ STPP_URL: "https://user:s3cretPass@x.test/json/" })
      expect(message).toMatch(/^STPP_URL: the URL must not hold credentials/)
      expect(message).not.toContain("s3cretPass")
    }))

  it.effect("C3: settings given in code are validated the same way", () =>
    Effect.gen(function*() {
      const s = yield* ConnectionConfig.make({ connectTimeout: "2 seconds", retryTimeout: 8000, maxRetries: 4 })
      expect(Duration.toMillis(s.connectTimeout)).toBe(2000)
      expect(Duration.toMillis(s.retryTimeout)).toBe(8000)
      const bad = yield* Effect.flip(ConnectionConfig.make({ ioTimeout: "soon" }))
      expect(ConnectionConfig.formatConfigError(bad)).toMatch(
        /^STPP_IO_TIMEOUT: the value given \(4 characters, not shown\) is not a duration/
      )
    }))

  it("parses the short and the Effect duration forms", () => {
    const ms = (s: string) => Option.map(ConnectionConfig.parseDuration(s), Duration.toMillis)
    expect(ms("500ms")).toEqual(Option.some(500))
    expect(ms("5s")).toEqual(Option.some(5000))
    expect(ms("1.5s")).toEqual(Option.some(1500))
    expect(ms("1m")).toEqual(Option.some(60_000))
    expect(ms("5 seconds")).toEqual(Option.some(5000))
    expect(ms("500 millis")).toEqual(Option.some(500))
    expect(ms("5")).toEqual(Option.none())
    expect(ms("-5s")).toEqual(Option.none())
    expect(ms("5 parsecs")).toEqual(Option.none())
  })

  it("knows the live gateway hosts", () => {
    expect(ConnectionConfig.isLiveGatewayHost("webservices.securetrading.net")).toBe(true)
    expect(ConnectionConfig.isLiveGatewayHost("WEBSERVICES.securetrading.us.")).toBe(true)
    expect(ConnectionConfig.isLiveGatewayHost("webservices.securetrading.test")).toBe(false)
    expect(ConnectionConfig.isLiveGatewayHost("notsecuretrading.net")).toBe(false)
    expect(Either.isRight(Either.right(1))).toBe(true)
  })
})
