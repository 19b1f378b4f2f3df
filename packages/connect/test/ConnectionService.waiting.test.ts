/**
 * U1/U2 on the waiting path, in virtual time (fake DNS and TLS, TestClock): callers queued for one
 * of a few sockets hear within `STPP_RETRY_TIMEOUT` counted from when each asked while nothing was
 * sent (`DeadlineReached` when no socket came free), and within that plus `STPP_IO_TIMEOUT` once
 * written; after the retry budget was spent, a recovered gateway sees at most
 * `STPP_RETRY_BUDGET_PROBES` connects before the first one succeeds, and the callers behind the
 * probes wait for them rather than failing. Each test runs in about 0.4 s of real time alone; the
 * wall-clock bounds here (3 s) are generous for a loaded machine and only catch a regression to
 * real-time waiting.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import type { Duplex } from "node:stream"
import * as ConnectionConfig from "../src/ConnectionConfig.js"
import type { RequestError } from "../src/ConnectionError.js"
import * as ConnectionService from "../src/ConnectionService.js"
import type { GatewayResponse } from "../src/ConnectionService.js"
import * as TestResolver from "../src/TestResolver.js"
import * as TestTlsConnector from "../src/TestTlsConnector.js"

const HOST = "gateway.stpp.test"
const A = "127.0.0.51"

const testLayer = (settings: ConnectionConfig.ConnectionSettingsInput) =>
  ConnectionService.layerTest().pipe(
    Layer.provide(ConnectionConfig.layer({ url: `https://${HOST}/json/`, dnsDiscovery: false, ...settings }))
  )

/** Answers each request with 200. */
const answerHttp = (server: { readonly socket: Duplex }) => {
  let buffered = ""
  server.socket.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("latin1")
    for (;;) {
      const end = buffered.indexOf("\r\n\r\n")
      if (end < 0) return
      const length = Number(/content-length:\s*(\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0)
      if (buffered.length < end + 4 + length) return
      buffered = buffered.slice(end + 4 + length)
      server.socket.write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}")
    }
  })
  server.socket.on("error", () => undefined)
}

interface Heard {
  readonly asked: number
  readonly waited: number
  readonly exit: Exit.Exit<GatewayResponse, RequestError>
}

/** One caller: asks after `delayMillis` of virtual time, and notes when it asked and how long it waited. */
const caller = (i: number, delayMillis = 0) =>
  Effect.gen(function*() {
    if (delayMillis > 0) yield* Effect.sleep(delayMillis)
    const service = yield* ConnectionService.ConnectionService
    const asked = yield* Clock.currentTimeMillis
    const exit = yield* Effect.exit(
      service.request({ body: "{}", reference: `W${String(i).padStart(8, "0")}` })
    )
    return { asked, waited: (yield* Clock.currentTimeMillis) - asked, exit } satisfies Heard
  })

/**
 * Moves virtual time forward in steps, letting the real event loop run between them (the fake
 * connections are node streams: their bytes move on real ticks).
 */
const advance = (totalMillis: number, stepMillis = 50) =>
  Effect.gen(function*() {
    for (let t = 0; t < totalMillis; t += stepMillis) {
      yield* TestClock.adjust(stepMillis)
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
    }
  })

const failure = (h: Heard): RequestError | undefined =>
  Exit.isFailure(h.exit) && h.exit.cause._tag === "Fail" ? h.exit.cause.error : undefined

const wall = () => Effect.sync(() => performance.now())

describe("ConnectionService: callers waiting for a socket (TestClock)", () => {
  it.scoped("U2: 24 callers in 4 bursts, 1 s apart, for 2 stalled sockets each hear NotSent within 5 s of asking", () =>
    Effect.gen(function*() {
      const started = yield* wall()
      const dns = yield* TestResolver.TestResolver
      const tls = yield* TestTlsConnector.TestTlsConnector
      yield* dns.setAnswer(HOST, [A], "1 hour")
      yield* tls.always(A, "stall")
      const fibers = yield* Effect.forEach(
        Array.from({ length: 24 }, (_, i) => i),
        (i) => Effect.fork(caller(i, Math.floor(i / 6) * 1000))
      )
      yield* advance(15_000, 15_000)
      const heard = yield* Effect.forEach(fibers, Fiber.join)
      const causes = new Map<string, number>()
      for (const h of heard) {
        const e = failure(h)
        expect(e?._tag).toBe("NotSent")
        if (e?._tag !== "NotSent") continue
        // nothing sent: within STPP_RETRY_TIMEOUT counted from when it asked (U2)
        expect(h.waited).toBeLessThanOrEqual(5000)
        const key = e.cause._tag === "DeadlineReached" ? `DeadlineReached(${e.cause.phase})` : e.cause._tag
        causes.set(key, (causes.get(key) ?? 0) + 1)
        if (e.cause._tag === "DeadlineReached" && e.cause.phase === "waiting-for-socket") {
          expect(e.attempts).toBe(0)
          // at its own deadline, not later (and not at a deadline of the queue's)
          expect(h.waited).toBe(5000)
        }
      }
      // most never got a socket before their deadline; the few that did made their connect attempts
      expect(causes.get("DeadlineReached(waiting-for-socket)") ?? 0).toBeGreaterThanOrEqual(12)
      // every attempt the callers counted reached the connector
      expect(heard.reduce((n, h) => n + ((e) => e?._tag === "NotSent" ? e.attempts : 0)(failure(h)), 0)).toBe(
        (yield* tls.calls).length
      )
      expect(heard.every((h, i) => h.asked === Math.floor(i / 6) * 1000)).toBe(true)
      const calls = yield* tls.calls
      const took = (yield* wall()) - started
      console.log(
        `waiting (stall): ${JSON.stringify([...causes])}, ${calls.length} connects, ${took.toFixed(0)} ms real`
      )
      expect(took).toBeLessThan(3000)
    }).pipe(
      Effect.provide(testLayer({ maxSockets: 2, connectTimeout: "2s", retryTimeout: "5s", ioTimeout: "3s" }))
    ))

  it.scoped("U2: a socket that comes free at a queued caller's deadline starts no connect attempt", () =>
    Effect.gen(function*() {
      const dns = yield* TestResolver.TestResolver
      const tls = yield* TestTlsConnector.TestTlsConnector
      yield* dns.setAnswer(HOST, [A], "1 hour")
      yield* tls.always(A, "stall")
      // both ask at 0: the first holds the one socket until its attempt is cut at 5 s, the
      // second's own deadline
      const fibers = yield* Effect.forEach([0, 1], (i) => Effect.fork(caller(i)))
      yield* advance(6000, 6000)
      const heard = yield* Effect.forEach(fibers, Fiber.join)
      const [first, second] = heard.map(failure)
      expect(heard.map((h) => h.waited)).toEqual([5000, 5000])
      expect(first?._tag === "NotSent" && first.attempts).toBe(1)
      expect(second?._tag === "NotSent" && second.cause._tag === "DeadlineReached" && second.cause.phase).toBe(
        "waiting-for-socket"
      )
      expect(second?._tag === "NotSent" && second.attempts).toBe(0)
      expect((yield* tls.calls).length).toBe(1)
    }).pipe(
      Effect.provide(testLayer({ maxSockets: 1, connectTimeout: "5s", retryTimeout: "5s" }))
    ))

  it.scoped("U2: once written, a queued caller hears within STPP_RETRY_TIMEOUT + STPP_IO_TIMEOUT; unwritten ones within STPP_RETRY_TIMEOUT", () =>
    Effect.gen(function*() {
      const started = yield* wall()
      const dns = yield* TestResolver.TestResolver
      const tls = yield* TestTlsConnector.TestTlsConnector
      yield* dns.setAnswer(HOST, [A], "1 hour")
      // connects after 800 ms, reads the request, never answers
      yield* tls.always(A, {
        _tag: "accept",
        delay: "800 millis",
        onAccept: (server) => server.socket.on("data", () => undefined)
      })
      const fibers = yield* Effect.forEach(Array.from({ length: 5 }, (_, i) => i), (i) => Effect.fork(caller(i)))
      yield* advance(12_000, 200)
      const heard = yield* Effect.forEach(fibers, Fiber.join)
      const tags = heard.map((h) => {
        const e = failure(h)
        return e?._tag === "NotSent" ? `NotSent(${e.cause._tag})` : e?._tag ?? "ok"
      })
      console.log(`waiting (written): ${JSON.stringify(heard.map((h, i) => [tags[i], h.waited]))}`)
      for (const h of heard) {
        const e = failure(h)
        if (e?._tag === "OutcomeUnknown") expect(h.waited).toBeLessThanOrEqual(5000 + 3000)
        else {
          expect(e?._tag).toBe("NotSent")
          expect(h.waited).toBeLessThanOrEqual(5000)
        }
      }
      // the first: written at 0.8 s, its 3 s IO time-out; the second: a socket at 3.8 s, written at
      // 4.6 s, past the retry time-out but inside the written bound; the rest: no socket by 5 s
      expect(tags).toEqual([
        "OutcomeUnknown",
        "OutcomeUnknown",
        "NotSent(DeadlineReached)",
        "NotSent(DeadlineReached)",
        "NotSent(DeadlineReached)"
      ])
      expect(heard.map((h) => h.waited)).toEqual([3800, 7600, 5000, 5000, 5000])
      // each was sent once
      expect((yield* tls.calls).length).toBe(2)
      expect((yield* wall()) - started).toBeLessThan(3000)
    }).pipe(
      Effect.provide(testLayer({ maxSockets: 1, connectTimeout: "5s", retryTimeout: "5s", ioTimeout: "3s" }))
    ))

  it.scoped("U1: after the budget is spent, a recovered gateway sees at most STPP_RETRY_BUDGET_PROBES connects before one succeeds", () =>
    Effect.gen(function*() {
      const started = yield* wall()
      const dns = yield* TestResolver.TestResolver
      const tls = yield* TestTlsConnector.TestTlsConnector
      yield* dns.setAnswer(HOST, [A], "1 hour")
      yield* tls.always(A, "refuse")
      // 20 tokens at 5 a retry: 4 retries for the whole service, then it is spent
      const wave = yield* Effect.forEach(Array.from({ length: 12 }, (_, i) => i), (i) => Effect.fork(caller(i)))
      yield* advance(6000, 6000)
      const spent = yield* Effect.forEach(wave, Fiber.join)
      const spentCauses = spent.map((h) => {
        const e = failure(h)
        return e?._tag === "NotSent" ? e.cause._tag : e?._tag
      })
      expect(spentCauses.every((c) => c === "RetryBudgetSpent")).toBe(true)
      const before = (yield* tls.calls).length
      expect(before).toBeLessThanOrEqual(12 + 4)

      // the gateway is back, slow to connect (500 ms): 16 callers at once
      yield* tls.always(A, { _tag: "accept", delay: "500 millis", onAccept: answerHttp })
      const back = yield* Clock.currentTimeMillis
      const fibers = yield* Effect.forEach(
        Array.from({ length: 16 }, (_, i) => i),
        (i) => Effect.fork(caller(100 + i))
      )
      yield* advance(3000, 3000)
      const heard = yield* Effect.forEach(fibers, Fiber.join)
      // nobody failed fast: the callers behind the probes waited for them
      expect(heard.every((h) => Exit.isSuccess(h.exit))).toBe(true)
      const after = (yield* tls.calls).slice(before)
      const beforeFirstSuccess = after.filter((c) => c.at < back + 500)
      console.log(
        `waiting (probes): ${beforeFirstSuccess.length} connects before the first succeeded, ${after.length} in all, ` +
          `slowest ${Math.max(...heard.map((h) => h.waited))} ms`
      )
      expect(beforeFirstSuccess.length).toBeGreaterThan(0)
      expect(beforeFirstSuccess.length).toBeLessThanOrEqual(2)
      expect(after.length).toBeLessThanOrEqual(16)
      // resumed within one retry delay (250 ms) after the probes connected
      expect(Math.max(...heard.map((h) => h.waited))).toBeLessThanOrEqual(500 + 250 + 500)
      expect((yield* wall()) - started).toBeLessThan(3000)
    }).pipe(
      Effect.provide(testLayer({ retryBudget: 20, retryBudgetCost: 5, connectTimeout: "2s", retryTimeout: "5s" }))
    ))
})
