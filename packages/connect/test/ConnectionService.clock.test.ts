/**
 * E3: no fixed ticks on the clock. The pool's housekeeping sleeps until the next deadline it knows
 * of, so an idle service leaves no sleep pending on the TestClock, and an hour of virtual time costs
 * a handful of wake-ups. The one wall-clock guard here is deliberately generous (< 5 s, vitest's own
 * time-out): with the old 100 ms tick an hour was 36,000 sweeps, far over it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import type { Duplex } from "node:stream"
import * as ConnectionConfig from "../src/ConnectionConfig.js"
import type { RequestError } from "../src/ConnectionError.js"
import * as ConnectionService from "../src/ConnectionService.js"
import * as TestResolver from "../src/TestResolver.js"
import * as TestTlsConnector from "../src/TestTlsConnector.js"

const HOST = "gateway.example.test"
const A = "127.0.0.51"

const TestLayer = ConnectionService.layerTest().pipe(
  Layer.provide(ConnectionConfig.layer({ url: `https://${HOST}/json/`, dnsDiscovery: false }))
)

const answerHttp = (server: { readonly socket: Duplex }) => {
  let buffered = ""
  server.socket.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("latin1")
    const end = buffered.indexOf("\r\n\r\n")
    if (end < 0) return
    const length = Number(/content-length:\s*(\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0)
    if (buffered.length < end + 4 + length) return
    buffered = buffered.slice(end + 4 + length)
    server.socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
  })
  server.socket.on("error", () => undefined)
}

const wallMillis = () => Effect.sync(() => Date.now())

describe("ConnectionService housekeeping (TestClock)", () => {
  it.scoped("E3: an idle service under TestClock.adjust(\"1 hour\") retires its connection at its TTL and then sleeps on nothing", () =>
    Effect.gen(function*() {
      const dns = yield* TestResolver.TestResolver
      const tls = yield* TestTlsConnector.TestTlsConnector
      yield* dns.setAnswer(HOST, [A], "30 seconds")
      yield* tls.always(A, { _tag: "accept", onAccept: answerHttp })
      const service = yield* ConnectionService.ConnectionService
      const first = yield* service.request({ body: "{}" })
      expect(first.reused).toBe(false)
      const started = yield* wallMillis()
      yield* TestClock.adjust("1 hour")
      const wall = (yield* wallMillis()) - started
      // D2: the connection whose DNS answer expired was closed by housekeeping, with no request
      const calls = yield* tls.calls
      expect(calls.length).toBe(1)
      expect(calls[0].server?.socket.destroyed).toBe(true)
      // nothing left to wake for: no sleep pending on the clock
      expect(Chunk.size(yield* TestClock.sleeps())).toBe(0)
      expect(wall).toBeLessThan(5000)
      // and the service still works: the next request connects anew
      const second = yield* service.request({ body: "{}" })
      expect(second.reused).toBe(false)
      expect((yield* tls.calls).length).toBe(2)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("E3/R1/R2: the README's 40 s example: NotSent after 6-7 attempts, then nothing pending", () =>
    Effect.gen(function*() {
      const dns = yield* TestResolver.TestResolver
      const tls = yield* TestTlsConnector.TestTlsConnector
      yield* dns.setAnswer(HOST, ["127.0.0.51"], "30 seconds")
      yield* tls.always("127.0.0.51", "stall")
      const service = yield* ConnectionService.ConnectionService
      const started = yield* wallMillis()
      const fiber = yield* Effect.fork(Effect.flip(service.request({ body: "{}" })))
      yield* TestClock.adjust("60 seconds")
      const error = (yield* Fiber.join(fiber)) as RequestError
      const wall = (yield* wallMillis()) - started
      expect(error._tag).toBe("NotSent")
      if (error._tag !== "NotSent") return
      expect(error.cause._tag).toBe("HandshakeTimeout")
      expect(error.attempts).toBeGreaterThanOrEqual(6)
      expect(error.attempts).toBeLessThanOrEqual(7)
      const calls = yield* tls.calls
      for (const c of calls) expect(c.at - calls[0].at).toBeLessThanOrEqual(35_000)
      expect(Chunk.size(yield* TestClock.sleeps())).toBe(0)
      expect(wall).toBeLessThan(5000)
    }).pipe(Effect.provide(TestLayer)))
})
