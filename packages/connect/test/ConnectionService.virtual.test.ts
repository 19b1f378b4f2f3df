/**
 * C2: the whole service on fake DNS and fake TLS, time driven by TestClock. The retry policy with
 * the guide's numbers (20 retries, 40 s, 5 s per attempt, 60 s send/receive) runs in milliseconds.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import type { Duplex } from "node:stream"
import * as ConnectionConfig from "../src/ConnectionConfig.js"
import type { RequestError } from "../src/ConnectionError.js"
import * as ConnectionService from "../src/ConnectionService.js"
import * as RedactingLogger from "../src/RedactingLogger.js"
import * as Resolver from "../src/Resolver.js"
import * as TlsConnector from "../src/TlsConnector.js"

const HOST = "gateway.stpp.test"
const A = "127.0.0.51"
const B = "127.0.0.52"

const testLayer = (settings: ConnectionConfig.ConnectionSettingsInput = {}) =>
  ConnectionService.layerTest().pipe(
    Layer.provide(ConnectionConfig.layer({ url: `https://${HOST}/json/`, dnsDiscovery: false, ...settings }))
  )

/** A minimal HTTP/1.1 peer on the fake connection's server side: answers each request with 200. */
const answerHttp = (server: { readonly socket: Duplex }, onRequest?: (n: number) => "answer" | "drop") => {
  let buffered = ""
  let n = 0
  server.socket.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("latin1")
    for (;;) {
      const end = buffered.indexOf("\r\n\r\n")
      if (end < 0) return
      const length = Number(/content-length:\s*(\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0)
      if (buffered.length < end + 4 + length) return
      buffered = buffered.slice(end + 4 + length)
      n++
      if (onRequest?.(n) === "drop") {
        server.socket.destroy()
        return
      }
      server.socket.write(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}"
      )
    }
  })
  server.socket.on("error", () => undefined)
}

const post = (reference = "A00000001") =>
  Effect.flatMap(
    ConnectionService.ConnectionService,
    (s) => s.request({ body: "{\"request\":[]}", headers: { "content-type": "application/json" }, reference })
  )

/** Runs `effect` to the end while moving virtual time forward. */
const inVirtualTime = <A, E, R>(effect: Effect.Effect<A, E, R>, total = "120 seconds" as const) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(total)
    return yield* Fiber.join(fiber)
  })

describe("ConnectionService (fake DNS and TLS, TestClock)", () => {
  it.scoped("C2/R1/R2: handshakes that stall use the 40 s budget, no attempt after 35 s", () =>
    Effect.gen(function*() {
      const dns = yield* Resolver.TestResolver
      const tls = yield* TlsConnector.TestTlsConnector
      yield* dns.setAnswer(HOST, [A], "30 seconds")
      yield* tls.always(A, "stall")
      const e = (yield* inVirtualTime(Effect.flip(post()))) as RequestError
      expect(e._tag).toBe("NotSent")
      if (e._tag !== "NotSent") return
      expect(e.lastError).toBe("HandshakeTimeout")
      const calls = yield* tls.calls
      expect(calls.length).toBe(e.attempts)
      // 5 s attempts with pauses 250 ms, 500 ms, 1 s, 2 s (±20 %): 6 or 7 attempts
      expect(e.attempts).toBeGreaterThanOrEqual(6)
      expect(e.attempts).toBeLessThanOrEqual(7)
      const first = calls[0].at
      for (const c of calls) expect(c.at - first).toBeLessThanOrEqual(35_000)
      expect(e.elapsedMillis).toBeLessThanOrEqual(40_000)
    }).pipe(Effect.provide(testLayer())))

  it.scoped("C2/R1: refused connects are retried at most 20 times, the last by 35 s", () =>
    Effect.gen(function*() {
      const dns = yield* Resolver.TestResolver
      const tls = yield* TlsConnector.TestTlsConnector
      yield* dns.setAnswer(HOST, [A], "30 seconds")
      yield* tls.always(A, "refuse")
      const e = (yield* inVirtualTime(Effect.flip(post()))) as RequestError
      expect(e._tag).toBe("NotSent")
      const calls = yield* tls.calls
      expect(calls.length).toBeLessThanOrEqual(21)
      expect(calls.length).toBeGreaterThanOrEqual(18)
      expect(calls[calls.length - 1].at - calls[0].at).toBeLessThanOrEqual(35_000)
      if (e._tag === "NotSent") expect(e.lastError).toBe("ConnectRefused")
    }).pipe(Effect.provide(testLayer())))

  it.scoped("C2/R3: a failed connect asks DNS again and leaves a dead address behind", () =>
    Effect.gen(function*() {
      const dns = yield* Resolver.TestResolver
      const tls = yield* TlsConnector.TestTlsConnector
      yield* dns.setAnswer(HOST, [A], "30 seconds")
      yield* tls.always(A, "refuse")
      yield* tls.always(B, { _tag: "accept", onAccept: (server) => answerHttp(server) })
      const fiber = yield* Effect.fork(post())
      yield* TestClock.adjust("10 millis")
      // the load balancer now names B
      yield* dns.setAnswer(HOST, [B], "30 seconds")
      yield* TestClock.adjust("5 seconds")
      const r = yield* Fiber.join(fiber)
      expect(r.address).toBe(B)
      expect(r.attempts).toBe(2)
      expect((yield* tls.calls).map((c) => c.target.address)).toEqual([A, B])
    }).pipe(Effect.provide(testLayer())))

  it.scoped("C2/D2: a TTL change mid-stream: kept-alive connections are not used past the TTL", () =>
    Effect.gen(function*() {
      const dns = yield* Resolver.TestResolver
      const tls = yield* TlsConnector.TestTlsConnector
      yield* dns.setAnswer(HOST, [A], "10 seconds")
      yield* tls.always(A, { _tag: "accept", onAccept: (server) => answerHttp(server) })
      yield* tls.always(B, { _tag: "accept", onAccept: (server) => answerHttp(server) })
      const r1 = yield* post()
      yield* dns.setAnswer(HOST, [B], "10 seconds")
      yield* TestClock.adjust("5 seconds")
      const r2 = yield* post()
      yield* TestClock.adjust("5 seconds")
      const r3 = yield* post()
      expect([r1.address, r2.address, r3.address]).toEqual([A, A, B])
      expect([r1.reused, r2.reused, r3.reused]).toEqual([false, true, false])
      const calls = yield* tls.calls
      expect(calls.map((c) => c.target.address)).toEqual([A, B])
      // the expired connection was closed
      expect(calls[0].server?.socket.destroyed).toBe(true)
    }).pipe(Effect.provide(testLayer({ keepAliveIdle: "60s" }))))

  it.scoped("C2/R3: a connection dropped after the first byte is OutcomeUnknown, sent once", () =>
    Effect.gen(function*() {
      const dns = yield* Resolver.TestResolver
      const tls = yield* TlsConnector.TestTlsConnector
      yield* dns.setAnswer(HOST, [A], "30 seconds")
      yield* tls.always(A, { _tag: "accept", onAccept: (server) => answerHttp(server, () => "drop") })
      const e = (yield* Effect.flip(post("A99999999"))) as RequestError
      expect(e._tag).toBe("OutcomeUnknown")
      if (e._tag !== "OutcomeUnknown") return
      expect(e.reference).toBe("A99999999")
      expect(e.bytesWritten).toBeGreaterThan(0)
      expect((yield* tls.calls).length).toBe(1)
      const lines = yield* RedactingLogger.capturedLines
      expect(lines.some((l) => l.includes("outcome unknown"))).toBe(true)
    }).pipe(Effect.provide(testLayer())))

  it.scoped("C2/R1: the 60 s send/receive time-out, in virtual time", () =>
    Effect.gen(function*() {
      const dns = yield* Resolver.TestResolver
      const tls = yield* TlsConnector.TestTlsConnector
      yield* dns.setAnswer(HOST, [A], "30 seconds")
      // reads the request, never answers
      yield* tls.always(A, { _tag: "accept", onAccept: (server) => server.socket.on("data", () => undefined) })
      const fiber = yield* Effect.fork(Effect.flip(post()))
      yield* TestClock.adjust("59 seconds")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      const e = (yield* Fiber.join(fiber)) as RequestError
      expect(e._tag).toBe("OutcomeUnknown")
      if (e._tag === "OutcomeUnknown") {
        expect(e.reason).toBe("timeout")
        expect(e.phase).toBe("awaiting")
      }
    }).pipe(Effect.provide(testLayer())))

  it.scoped("S4: a verification failure is Refused after one attempt", () =>
    Effect.gen(function*() {
      const dns = yield* Resolver.TestResolver
      const tls = yield* TlsConnector.TestTlsConnector
      yield* dns.setAnswer(HOST, [A], "30 seconds")
      yield* tls.always(A, {
        _tag: "fail",
        error: (t) =>
          new TlsConnector.HostnameMismatch({
            host: t.servername,
            address: t.address,
            port: t.port,
            names: ["DNS:other.test"]
          })
      })
      const e = (yield* inVirtualTime(Effect.flip(post()))) as RequestError
      expect(e._tag).toBe("Refused")
      expect((yield* tls.calls).length).toBe(1)
    }).pipe(Effect.provide(testLayer())))
})
