import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as RetryPolicy from "../src/RetryPolicy.js"

class Refused extends Data.TaggedError("Refused")<{}> {}
class Timeout extends Data.TaggedError("Timeout")<{}> {}
class Sent extends Data.TaggedError("Sent")<{}> {}
type Failure = Refused | Timeout | Sent

const nothingSent = (e: unknown) => !(e instanceof Sent)

const guide: RetryPolicy.RetrySettings = {
  maxRetries: 20,
  retryTimeout: Duration.seconds(40),
  connectTimeout: Duration.seconds(5),
  retryBaseDelay: Duration.millis(250),
  retryMaxDelay: Duration.seconds(2),
  jitter: 0
}

/** An attempt that records when it started, takes `takes`, then fails with `error`. */
const recordingAttempt = (starts: Array<number>, takes: Duration.DurationInput, error: () => Failure) =>
  Effect.gen(function*() {
    starts.push(yield* Clock.currentTimeMillis)
    yield* Effect.sleep(takes)
    return yield* Effect.fail(error())
  })

const runToEnd = <A, E>(effect: Effect.Effect<A, E, RetryPolicy.RetryPolicy>, policy = RetryPolicy.layerTest()) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.provide(effect, policy))
    // 120 s of virtual time, far past any budget, in milliseconds of real time.
    yield* TestClock.adjust("120 seconds")
    return yield* Fiber.await(fiber)
  })

describe("RetryPolicy", () => {
  it.effect("R1: at most 20 retries (21 attempts) when every attempt fails at once", () =>
    Effect.gen(function*() {
      const starts: Array<number> = []
      const exit = yield* runToEnd(
        RetryPolicy.retry(recordingAttempt(starts, 0, () => new Refused()), nothingSent),
        RetryPolicy.layerTest({ retryBaseDelay: Duration.zero, retryMaxDelay: Duration.zero })
      )
      expect(exit._tag).toBe("Failure")
      expect(starts.length).toBe(21)
    }))

  it.effect("R2: 5 s attempts that never connect start at 0, 5+p, ... and none after 35 s", () =>
    Effect.gen(function*() {
      const starts: Array<number> = []
      yield* runToEnd(RetryPolicy.retry(recordingAttempt(starts, "5 seconds", () => new Timeout()), nothingSent))
      // pauses 250 ms, 500 ms, 1 s, then 2 s (capped)
      expect(starts).toEqual([0, 5250, 10750, 16750, 23750, 30750])
      expect(Math.max(...starts)).toBeLessThanOrEqual(35_000)
      // the connect phase therefore ends by 40 s
      expect(Math.max(...starts) + 5000).toBeLessThanOrEqual(40_000)
    }))

  it.effect("R2: the pause is clamped so the last attempt starts exactly at the 35 s deadline", () =>
    Effect.gen(function*() {
      const starts: Array<number> = []
      yield* runToEnd(RetryPolicy.retry(recordingAttempt(starts, "3 seconds", () => new Timeout()), nothingSent))
      expect(starts).toEqual([0, 3250, 6750, 10750, 15750, 20750, 25750, 30750, 35_000])
    }))

  it.effect("R1/R2: fast failures use all 21 attempts and the last one starts by 35 s", () =>
    Effect.gen(function*() {
      const starts: Array<number> = []
      yield* runToEnd(RetryPolicy.retry(recordingAttempt(starts, 0, () => new Refused()), nothingSent))
      expect(starts.length).toBe(21)
      expect(starts[20]).toBe(35_000)
      expect(starts.slice(0, 5)).toEqual([0, 250, 750, 1750, 3750])
    }))

  it.effect("R3: an error classified as 'sent' stops at once", () =>
    Effect.gen(function*() {
      const starts: Array<number> = []
      const exit = yield* runToEnd(RetryPolicy.retry(recordingAttempt(starts, 0, () => new Sent()), nothingSent))
      expect(starts).toEqual([0])
      expect(exit._tag === "Failure" && String(exit.cause)).toContain("Sent")
    }))

  it.effect("R3: a retried failure then a 'sent' failure stops there", () =>
    Effect.gen(function*() {
      const starts: Array<number> = []
      let n = 0
      yield* runToEnd(
        RetryPolicy.retry(recordingAttempt(starts, 0, () => (++n < 3 ? new Refused() : new Sent())), nothingSent)
      )
      expect(starts).toEqual([0, 250, 750])
    }))

  it.effect("R1: success ends the schedule and returns the value", () =>
    Effect.gen(function*() {
      let n = 0
      const exit = yield* runToEnd(
        RetryPolicy.retry(
          Effect.suspend(() => (++n < 4 ? Effect.fail(new Refused()) : Effect.succeed("connected"))),
          nothingSent
        )
      )
      expect(exit._tag === "Success" && exit.value).toBe("connected")
      expect(n).toBe(4)
    }))

  it.effect("R4: composed with an app schedule, both limits hold (Schedule.intersect)", () =>
    Effect.gen(function*() {
      const starts: Array<number> = []
      const logged: Array<number> = []
      const composed = RetryPolicy.layerTest({}, (policy) =>
        policy.pipe(
          Schedule.intersect(Schedule.recurs(3)),
          Schedule.tapOutput(([step]) => Effect.sync(() => logged.push(step.attempt)))
        ))
      yield* runToEnd(RetryPolicy.retry(recordingAttempt(starts, 0, () => new Refused()), nothingSent), composed)
      expect(starts).toEqual([0, 250, 750, 1750])
      expect(logged).toEqual([2, 3, 4, 5])
    }))

  it.effect("R4/R2: an app schedule that lengthens pauses cannot start an attempt past the deadline", () =>
    Effect.gen(function*() {
      const starts: Array<number> = []
      const composed = RetryPolicy.layerTest(
        {},
        (policy) => policy.pipe(Schedule.intersect(Schedule.spaced("12 seconds")))
      )
      yield* runToEnd(RetryPolicy.retry(recordingAttempt(starts, 0, () => new Refused()), nothingSent), composed)
      // 0, 12, 24; the next would be 36 > 35: not started
      expect(starts).toEqual([0, 12_000, 24_000])
    }))

  it("R2: the delays themselves, checked with Schedule.run (no effect run)", () => {
    const s = RetryPolicy.schedule(guide, 0, nothingSent)
    const outputs = Effect.runSync(Schedule.run(s, 0, Array.from({ length: 30 }, () => new Refused())))
    const delays = Chunk.toReadonlyArray(outputs).map((o) => Duration.toMillis(o.delay))
    expect(delays.slice(0, 6)).toEqual([250, 500, 1000, 2000, 2000, 2000])
    // 20 retries allowed, the 20th clamped to start at 35 s; then done
    expect(delays.length).toBe(21)
    expect(delays[19]).toBe(1250)
    expect(delays[20]).toBe(0)
    const total = delays.slice(0, 20).reduce((a, b) => a + b, 0)
    expect(total).toBe(35_000)
  })

  it("R2: latest start is retry timeout less connect timeout", () => {
    expect(Duration.toMillis(RetryPolicy.latestStart(guide))).toBe(35_000)
    expect(Duration.toMillis(RetryPolicy.backoff(guide, 1))).toBe(250)
    expect(Duration.toMillis(RetryPolicy.backoff(guide, 10))).toBe(2000)
  })

  it.effect("R1: jitter keeps each pause within ±20 % and never past the deadline", () =>
    Effect.gen(function*() {
      const s = RetryPolicy.schedule({ ...guide, jitter: 0.2 }, 0, nothingSent)
      const outputs = yield* Schedule.run(s, 0, Array.from({ length: 30 }, () => new Refused()))
      const delays = Chunk.toReadonlyArray(outputs).map((o) => Duration.toMillis(o.delay))
      delays.slice(0, 3).forEach((d, i) => {
        const nominal = 250 * Math.pow(2, i)
        expect(d).toBeGreaterThanOrEqual(nominal * 0.8 - 1)
        expect(d).toBeLessThanOrEqual(nominal * 1.2 + 1)
      })
      const starts = delays.reduce<Array<number>>((acc, d) => [...acc, acc[acc.length - 1] + d], [0])
      expect(Math.max(...starts)).toBeLessThanOrEqual(35_000)
    }))
})
