import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as TestClock from "effect/TestClock"
import * as ConnectionConfig from "../src/ConnectionConfig.js"
import * as ConnectionService from "../src/ConnectionService.js"
import * as Resolver from "../src/Resolver.js"
// The simulator is a referenced project (tsconfig.test.json); it does not depend on @stpp/connect.
import * as DnsServer from "../../simulator/src/DnsServer.js"

const NS1 = "192.0.2.1:53"
const NS2 = "192.0.2.2:53"
const NS3 = "192.0.2.3:53"
const HOST = "gw.example.test"

/** Runs `effect` in a fiber and moves virtual time on by `by`, then joins it. */
const after = <A, E, R>(effect: Effect.Effect<A, E, R>, by: Duration.DurationInput) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(by)
    return yield* Fiber.join(fiber)
  })

const resolve = (host: string) => Effect.flatMap(Resolver.Resolver, (r) => r.resolve(host))
const queries = Effect.flatMap(Resolver.TestResolver, (t) => t.queries)
const asked = Effect.map(queries, (qs) => qs.map((q) => `${q.nameserver} ${q.type} ${q.name}`))

describe("Resolver (test layer, TestClock)", () => {
  it.effect("D1: an answer carries the record's addresses, TTL and expiry from Clock", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      yield* TestClock.setTime(1_000_000)
      yield* test.setAnswer(HOST, ["127.0.0.10", "127.0.0.11"], "20 seconds")
      const answer = yield* resolve(HOST)
      expect(answer.host).toBe(HOST)
      expect(answer.addresses).toEqual(["127.0.0.10", "127.0.0.11"])
      expect(Duration.toMillis(answer.ttl)).toBe(20_000)
      expect(answer.resolvedAt).toBe(1_000_000)
      expect(answer.expiresAt).toBe(1_020_000)
      expect(answer.nameserver).toBe(NS1)
    }).pipe(Effect.provide(Resolver.layerTest())))

  it.effect("D1: the answer is used until its TTL expires, then the name is asked again", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      yield* test.setAnswer(HOST, ["127.0.0.10"], "20 seconds")
      expect((yield* resolve(HOST)).addresses).toEqual(["127.0.0.10"])
      yield* test.setAnswer(HOST, ["127.0.0.11"], "20 seconds")
      yield* TestClock.adjust("19999 millis")
      expect((yield* resolve(HOST)).addresses).toEqual(["127.0.0.10"])
      expect((yield* queries).length).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect((yield* resolve(HOST)).addresses).toEqual(["127.0.0.11"])
      expect((yield* queries).length).toBe(2)
    }).pipe(Effect.provide(Resolver.layerTest())))

  it.effect("D1: a TTL over the cap is cut to 60 s; a shorter TTL is never extended", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      yield* test.setAnswer("long.example.test", ["127.0.0.10"], "1 hour")
      yield* test.setAnswer("short.example.test", ["127.0.0.12"], "2 seconds")
      yield* test.setAnswer("zero.example.test", ["127.0.0.13"], 0)
      const long = yield* resolve("long.example.test")
      expect(Duration.toMillis(long.ttl)).toBe(60_000)
      expect(long.expiresAt - long.resolvedAt).toBe(60_000)
      expect(Duration.toMillis((yield* resolve("short.example.test")).ttl)).toBe(2_000)
      // TTL 0: not cached at all.
      yield* resolve("zero.example.test")
      yield* resolve("zero.example.test")
      expect((yield* asked).filter((q) => q.includes("zero")).length).toBe(2)
      yield* TestClock.adjust("60 seconds")
      yield* resolve("long.example.test")
      expect((yield* asked).filter((q) => q.includes("long")).length).toBe(2)
    }).pipe(Effect.provide(Resolver.layerTest())))

  it.effect("D1: the cap is a setting (STPP_DNS_MAX_TTL)", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      yield* test.setAnswer(HOST, ["127.0.0.10"], "30 seconds")
      expect(Duration.toMillis((yield* resolve(HOST)).ttl)).toBe(5_000)
    }).pipe(Effect.provide(Resolver.layerTest({ dnsMaxTtl: "5 seconds" }))))

  it.effect("D1: callers asking at once for an expired name share one query", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      yield* test.setAnswer(HOST, ["127.0.0.10"], "10 seconds")
      // The first server stalls, so all callers are waiting while the query is in flight.
      yield* test.failNext(NS1, "timeout")
      const fiber = yield* Effect.fork(Effect.all(Array.from({ length: 20 }, () => resolve(HOST)), { concurrency: 20 }))
      yield* TestClock.adjust("1 second")
      const answers = yield* Fiber.join(fiber)
      expect(new Set(answers.map((a) => a.addresses[0]))).toEqual(new Set(["127.0.0.10"]))
      expect(yield* asked).toEqual([`${NS1} A ${HOST}`, `${NS2} A ${HOST}`])

      yield* TestClock.adjust("10 seconds")
      yield* test.clearQueries
      yield* Effect.all(Array.from({ length: 20 }, () => resolve(HOST)), { concurrency: 20 })
      expect((yield* queries).length).toBe(1)
    }).pipe(Effect.provide(Resolver.layerTest())))

  it.effect("D1: a caller that gives up does not cancel the query others wait on", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      yield* test.setAnswer(HOST, ["127.0.0.10"], "10 seconds")
      yield* test.failNext(NS1, "timeout")
      const impatient = yield* Effect.fork(resolve(HOST))
      const patient = yield* Effect.fork(resolve(HOST))
      yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(impatient)
      yield* TestClock.adjust("500 millis")
      expect((yield* Fiber.join(patient)).addresses).toEqual(["127.0.0.10"])
    }).pipe(Effect.provide(Resolver.layerTest())))

  it.effect("D1: IPv4 first; AAAA is used only when there is no A record", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      yield* test.setAnswer("both.example.test", ["::1", "127.0.0.10"], "10 seconds")
      yield* test.setAnswer("v6.example.test", ["::1"], "10 seconds")
      expect((yield* resolve("both.example.test")).addresses).toEqual(["127.0.0.10"])
      expect((yield* resolve("v6.example.test")).addresses).toEqual(["::1"])
      expect(yield* asked).toEqual([
        `${NS1} A both.example.test`,
        `${NS1} A v6.example.test`,
        `${NS1} AAAA v6.example.test`
      ])
    }).pipe(Effect.provide(Resolver.layerTest())))

  it.effect("D1: an IP literal resolves to itself without DNS, for the cap", () =>
    Effect.gen(function*() {
      const v4 = yield* resolve("127.0.0.10")
      expect(v4.addresses).toEqual(["127.0.0.10"])
      expect(v4.nameserver).toBeUndefined()
      expect(Duration.toMillis(v4.ttl)).toBe(60_000)
      expect((yield* resolve("[::1]")).addresses).toEqual(["::1"])
      expect((yield* queries).length).toBe(0)
    }).pipe(Effect.provide(Resolver.layerTest())))

  it.effect("D1: invalidate drops the cached answer (after a failed connect)", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      const resolver = yield* Resolver.Resolver
      yield* test.setAnswer(HOST, ["127.0.0.10"], "30 seconds")
      yield* resolver.resolve(HOST)
      yield* resolver.invalidate(HOST.toUpperCase())
      yield* test.setAnswer(HOST, ["127.0.0.11"], "30 seconds")
      expect((yield* resolver.resolve(HOST)).addresses).toEqual(["127.0.0.11"])
      expect((yield* queries).length).toBe(2)
    }).pipe(Effect.provide(Resolver.layerTest())))

  it.effect("D1: NXDOMAIN and a name without addresses are DnsNotFound, retryable", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      yield* test.setNotFound("gone.example.test")
      yield* test.setAnswer("empty.example.test", [], "10 seconds")
      const gone = yield* Effect.flip(resolve("gone.example.test"))
      expect(gone._tag).toBe("DnsNotFound")
      expect(gone.message).toBe(
        "gone.example.test does not exist in DNS (NXDOMAIN from 192.0.2.1:53); check the host name"
      )
      const empty = yield* Effect.flip(resolve("empty.example.test"))
      expect(empty.message).toBe("empty.example.test has no A/AAAA record (answer from 192.0.2.1:53)")
      expect(Resolver.isDnsError(gone) && Resolver.isRetryable(empty)).toBe(true)
      // Not cached: the next call asks again.
      yield* Effect.flip(resolve("gone.example.test"))
      expect((yield* asked).filter((q) => q.includes("gone")).length).toBe(2)
    }).pipe(Effect.provide(Resolver.layerTest())))

  it.effect("D3/U3: a server that does not answer is hedged past after the cap (no answer seen yet), first query still open", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      yield* test.setAnswer(HOST, ["127.0.0.10"], "30 seconds")
      yield* test.setServer(NS1, "timeout")
      const start = yield* Clock.currentTimeMillis
      const answer = yield* after(resolve(HOST), "1 second")
      const cap = Duration.toMillis(ConnectionConfig.defaults.dnsHedgeMaxDelay)
      expect(answer.resolvedAt - start).toBe(cap)
      expect(answer.nameserver).toBe(NS2)
      const qs = yield* queries
      expect(qs.map((q) => `${q.nameserver}@${q.at - start}`)).toEqual([`${NS1}@0`, `${NS2}@${cap}`])
      // The lost query ran on to its own time-out: NS1 is now asked last (D3).
      const status = yield* Effect.flatMap(Resolver.Resolver, (r) => r.nameservers)
      expect(status.find((s) => s.nameserver === NS1)?.lastFailure?.reason).toBe("timeout")
    }).pipe(Effect.provide(Resolver.layerTest())))

  it.effect("U3: the hedge delay is learned from answer times, between the floor and the cap", () =>
    Effect.gen(function*() {
      const capped = Resolver.layerTest({ nameservers: [NS1, NS2], dnsHedgeMaxDelay: "120 millis" })
      /** When NS2 was asked, after NS1 (which answers in `latency`) went silent. */
      const hedgeAfter = (latency: Duration.DurationInput, answers: number) =>
        Effect.gen(function*() {
          const test = yield* Resolver.TestResolver
          const resolver = yield* Resolver.Resolver
          yield* test.setAnswer(HOST, ["127.0.0.10"], 0)
          yield* test.setServer(NS1, "answer")
          yield* test.setLatency(NS1, latency)
          for (let i = 0; i < answers; i++) yield* after(resolver.resolve(HOST), latency)
          yield* test.setServer(NS1, "timeout")
          yield* test.clearQueries
          const start = yield* Clock.currentTimeMillis
          yield* after(resolver.resolve(HOST), "1 second")
          const ns2 = (yield* queries).find((q) => q.nameserver === NS2)
          // Past the health window, so NS1 is asked first again.
          yield* TestClock.adjust("31 seconds")
          return ns2 === undefined ? undefined : ns2.at - start
        })
      // Fast answers: the floor. Two answers of 115 ms, still varying: their SRTT + 4 * RTTVAR is cut to the cap.
      return [yield* hedgeAfter("1 millis", 20), yield* Effect.provide(hedgeAfter("115 millis", 2), capped)]
    }).pipe(
      Effect.provide(Resolver.layerTest({ nameservers: [NS1, NS2] })),
      Effect.map(([fast, slow]) => {
        expect(fast).toBe(Duration.toMillis(ConnectionConfig.defaults.dnsHedgeMinDelay))
        expect(slow).toBe(120)
      })
    ))

  it.effect("U3: answers of 100 ms teach a delay near 100 ms, and the hedge that wins is counted", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      const resolver = yield* Resolver.Resolver
      yield* test.setAnswer(HOST, ["127.0.0.10"], 0)
      yield* test.setLatency(NS1, "100 millis")
      for (let i = 0; i < 30; i++) yield* after(resolver.resolve(HOST), "100 millis")
      yield* test.setServer(NS1, "timeout")
      const start = yield* Clock.currentTimeMillis
      yield* after(resolver.resolve(HOST), "1 second")
      const at = (yield* queries).filter((q) => q.nameserver === NS2).map((q) => q.at - start)
      expect(at).toHaveLength(1)
      expect(at[0]).toBeGreaterThanOrEqual(100)
      expect(at[0]).toBeLessThan(110)
      const metrics = yield* Metric.value(ConnectionService.metrics.dnsHedgeWins)
      expect(metrics.count).toBeGreaterThanOrEqual(1)
    }).pipe(Effect.provide(Resolver.layerTest({ nameservers: [NS1, NS2] }))))

  it.effect("U3: no hedge while the first server answers within the delay; hedging off when the cap reaches dnsTimeout", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      yield* test.setAnswer(HOST, ["127.0.0.10"], "30 seconds")
      yield* test.setServer(NS1, "timeout")
      const start = yield* Clock.currentTimeMillis
      const answer = yield* after(resolve(HOST), "1 second")
      expect(answer.resolvedAt - start).toBe(1_000)
      expect((yield* queries).map((q) => `${q.nameserver}@${q.at - start}`)).toEqual([`${NS1}@0`, `${NS2}@1000`])
    }).pipe(Effect.provide(Resolver.layerTest({ dnsHedgeMinDelay: "1 second", dnsHedgeMaxDelay: "1 second" }))))

  it.effect("D3: refused, SERVFAIL, network and malformed answers move to the next server without waiting", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      yield* test.setAnswer(HOST, ["127.0.0.10"], "30 seconds")
      const failures = ["refused", "servfail", "network", "malformed"] as const
      for (const failure of failures) {
        yield* test.failNext(NS1, failure)
        const start = yield* Clock.currentTimeMillis
        const answer = yield* resolve(HOST)
        expect(answer.nameserver).toBe(NS2)
        expect(answer.resolvedAt).toBe(start)
        yield* Effect.flatMap(Resolver.Resolver, (r) => r.invalidate(HOST))
        // Past the health window, so NS1 is asked first again.
        yield* TestClock.adjust("31 seconds")
      }
      expect((yield* asked).length).toBe(8)
    }).pipe(Effect.provide(Resolver.layerTest({ nameservers: [NS1, NS2] }))))

  it.effect("D3: a failed server is asked last for the health window, then first again", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      const resolver = yield* Resolver.Resolver
      yield* test.setAnswer(HOST, ["127.0.0.10"], "5 seconds")
      yield* test.setServer(NS1, "timeout")
      yield* after(resolver.resolve(HOST), "1 second")
      const t0 = yield* Clock.currentTimeMillis
      const status = yield* resolver.nameservers
      expect(status.map((s) => `${s.nameserver} ${s.healthy}`)).toEqual([`${NS1} false`, `${NS2} true`, `${NS3} true`])
      expect(status[0].lastFailure?.reason).toBe("timeout")
      expect(status[0].unhealthyUntil).toBe(t0 + 10_000)
      yield* test.setServer(NS1, "answer")

      // Within the window: NS2 first, no time lost on NS1.
      yield* test.clearQueries
      yield* TestClock.adjust("5 seconds")
      yield* resolver.resolve(HOST)
      expect((yield* queries).map((q) => q.nameserver)).toEqual([NS2])

      // After the window: NS1 first again.
      yield* test.clearQueries
      yield* TestClock.adjust("5 seconds")
      yield* resolver.resolve(HOST)
      expect((yield* queries).map((q) => q.nameserver)).toEqual([NS1])
      expect((yield* resolver.nameservers).every((s) => s.healthy)).toBe(true)
    }).pipe(Effect.provide(Resolver.layerTest({ nameservers: [NS1, NS2, NS3], dnsHealthWindow: "10 seconds" }))))

  it.effect("D3: failed servers are asked in the order they failed, after the healthy ones", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      const resolver = yield* Resolver.Resolver
      yield* test.setAnswer(HOST, ["127.0.0.10"], 0)
      yield* test.failNext(NS1, "refused")
      yield* test.failNext(NS2, "refused")
      yield* resolver.resolve(HOST) // NS1 and NS2 fail, NS3 answers
      yield* test.clearQueries
      yield* test.setServer(NS3, "servfail")
      yield* resolver.resolve(HOST) // NS3 fails now, NS1 (failed first) answers
      expect((yield* queries).map((q) => q.nameserver)).toEqual([NS3, NS1])
    }).pipe(Effect.provide(Resolver.layerTest({ nameservers: [NS1, NS2, NS3] }))))

  it.effect("D3: when every server fails, DnsUnavailable says which were tried and how each failed", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      yield* test.setAnswer(HOST, ["127.0.0.10"], "30 seconds")
      yield* test.setServer(NS1, "timeout")
      yield* test.setServer(NS2, "refused")
      yield* test.setServer(NS3, "network")
      const start = yield* Clock.currentTimeMillis
      const error = yield* after(Effect.flip(resolve(HOST)), "1 second")
      expect((yield* Clock.currentTimeMillis) - start).toBe(1_000)
      expect(error._tag).toBe("DnsUnavailable")
      if (error._tag !== "DnsUnavailable") return
      expect(error.failures.map((f) => `${f.nameserver} ${f.reason}`)).toEqual([
        `${NS1} timeout`,
        `${NS2} refused`,
        `${NS3} network`
      ])
      expect(error.message).toBe(
        "cannot resolve gw.example.test: no DNS server answered (192.0.2.1:53 did not answer within 1s; " +
          "192.0.2.2:53 refused the query; 192.0.2.3:53 could not be reached (ECONNREFUSED (scripted)))"
      )
      expect(Resolver.isRetryable(error)).toBe(true)
    }).pipe(Effect.provide(Resolver.layerTest({ nameservers: [NS1, NS2, NS3] }))))

  it.effect("D3: per-server answers, read per server with queryEach, bypassing the cache", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      const resolver = yield* Resolver.Resolver
      yield* test.setAnswer(HOST, ["127.0.0.10"], "30 seconds")
      yield* test.setAnswer(HOST, ["127.0.0.11"], "20 seconds", { nameserver: NS2 })
      yield* test.setServer(NS3, "servfail")
      yield* resolver.resolve(HOST)
      const each = yield* resolver.queryEach(HOST)
      expect(each.map((e) =>
        `${e.nameserver} ${
          Either.match(e.result, {
            onLeft: (error) => error._tag,
            onRight: (a) => `${a.addresses.join(",")}/${Duration.toMillis(a.ttl)}`
          })
        }`
      )).toEqual([`${NS1} 127.0.0.10/30000`, `${NS2} 127.0.0.11/20000`, `${NS3} DnsUnavailable`])
      // The doctor's queries do not mark servers unhealthy.
      expect((yield* resolver.nameservers).every((s) => s.healthy)).toBe(true)
      expect((yield* queries).length).toBe(4)
    }).pipe(Effect.provide(Resolver.layerTest({ nameservers: [NS1, NS2, NS3] }))))

  it.effect("D4: the servers are the zone's NS records, found through the configured ones", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      const resolver = yield* Resolver.Resolver
      yield* test.setZoneNameservers("example.test", [
        { name: "ns1.example.test", address: "192.0.2.10" },
        { name: "ns2.example.test", address: "192.0.2.11" }
      ], "30 seconds")
      yield* test.setAnswer(HOST, ["127.0.0.10"], "10 seconds")
      const t0 = yield* Clock.currentTimeMillis
      const status = yield* resolver.nameservers
      expect(status.map((s) => `${s.nameserver} ${s.name} ${s.source}`)).toEqual([
        "192.0.2.10:53 ns1.example.test discovered",
        "192.0.2.11:53 ns2.example.test discovered"
      ])
      expect(status[0].listExpiresAt).toBe(t0 + 30_000)
      const answer = yield* resolver.resolve(HOST)
      expect(answer.nameserver).toBe("192.0.2.10:53")
      expect(yield* asked).toEqual([`${NS1} NS example.test`, `192.0.2.10:53 A ${HOST}`])
    }).pipe(Effect.provide(Resolver.layerTest({ nameservers: [NS1], dnsDiscovery: true }))))

  it.effect("D4: the list is refreshed on the NS records' TTL (capped), and a change needs no config", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      const resolver = yield* Resolver.Resolver
      yield* test.setZoneNameservers("example.test", [{ name: "ns1.example.test", address: "192.0.2.10" }], "2 hours")
      const first = yield* resolver.nameservers
      expect(first.map((s) => s.nameserver)).toEqual(["192.0.2.10:53"])
      yield* test.setZoneNameservers(
        "example.test",
        [{ name: "ns9.example.test", address: "192.0.2.19" }],
        "20 seconds"
      )
      yield* TestClock.adjust("59 seconds")
      expect((yield* resolver.nameservers).map((s) => s.nameserver)).toEqual(["192.0.2.10:53"])
      yield* TestClock.adjust("1 second") // the 2 h TTL was capped at 60 s
      expect((yield* resolver.nameservers).map((s) => s.nameserver)).toEqual(["192.0.2.19:53"])
      expect((yield* asked).filter((q) => q.includes(" NS ")).length).toBe(2)
    }).pipe(Effect.provide(Resolver.layerTest({ nameservers: [NS1], dnsDiscovery: true }))))

  it.effect("D4: when a refresh fails the last good list is kept", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      const resolver = yield* Resolver.Resolver
      yield* test.setZoneNameservers(
        "example.test",
        [{ name: "ns1.example.test", address: "192.0.2.10" }],
        "20 seconds"
      )
      yield* test.setAnswer(HOST, ["127.0.0.10"], "5 seconds")
      yield* resolver.nameservers
      yield* test.setServer(NS1, "servfail")
      yield* TestClock.adjust("20 seconds")
      const kept = yield* resolver.nameservers
      expect(kept.map((s) => `${s.nameserver} ${s.source}`)).toEqual(["192.0.2.10:53 discovered"])
      expect((yield* resolver.resolve(HOST)).nameserver).toBe("192.0.2.10:53")
      // Tried again later, not on every lookup; it succeeds once the server is back.
      yield* test.setServer(NS1, "answer")
      yield* test.setZoneNameservers(
        "example.test",
        [{ name: "ns2.example.test", address: "192.0.2.11" }],
        "20 seconds"
      )
      yield* TestClock.adjust("30 seconds")
      expect((yield* resolver.nameservers).map((s) => s.nameserver)).toEqual(["192.0.2.11:53"])
    }).pipe(Effect.provide(Resolver.layerTest({ nameservers: [NS1], dnsDiscovery: true }))))

  it.effect("D4: when discovery fails from the start, the configured servers are used", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      const resolver = yield* Resolver.Resolver
      yield* test.setNotFound("example.test")
      yield* test.setAnswer(HOST, ["127.0.0.10"], "5 seconds")
      expect((yield* resolver.resolve(HOST)).nameserver).toBe(NS1)
      expect((yield* resolver.nameservers).map((s) => `${s.nameserver} ${s.source}`)).toEqual([`${NS1} config`])
    }).pipe(Effect.provide(Resolver.layerTest({ nameservers: [NS1], dnsDiscovery: true }))))

  it.effect("D4: when no discovered server answers, the configured ones are asked as a last resort", () =>
    Effect.gen(function*() {
      const test = yield* Resolver.TestResolver
      const resolver = yield* Resolver.Resolver
      yield* test.setZoneNameservers(
        "example.test",
        [{ name: "ns1.example.test", address: "192.0.2.10" }],
        "60 seconds"
      )
      yield* test.setAnswer(HOST, ["127.0.0.10"], "5 seconds")
      yield* resolver.nameservers
      yield* test.setServer("192.0.2.10:53", "timeout")
      const answer = yield* after(resolver.resolve(HOST), "1 second")
      expect(answer.nameserver).toBe(NS1)
      expect((yield* asked).slice(1)).toEqual([`192.0.2.10:53 A ${HOST}`, `${NS1} A ${HOST}`])
    }).pipe(Effect.provide(Resolver.layerTest({ nameservers: [NS1], dnsDiscovery: true }))))

  it("C1: the live layer needs only the config; the test layer needs nothing", () => {
    const live: Layer.Layer<Resolver.Resolver, never, ConnectionConfig.ConnectionConfig> = Resolver.layer
    const test: Layer.Layer<Resolver.Resolver | Resolver.TestResolver> = Resolver.layerTest()
    const error: Effect.Effect<Resolver.Answer, Resolver.DnsError, Resolver.Resolver> = resolve(HOST)
    expect([live, test, error].length).toBe(3)
  })

  it.effect("the test layer fails loudly on a query the test did not script", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(resolve("unscripted.example.test"))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      if (Exit.isFailure(exit)) {
        expect(Cause.pretty(exit.cause)).toContain(
          "TestResolver: nothing scripted for A unscripted.example.test at 192.0.2.1:53; use TestResolver.setAnswer"
        )
      }
    }).pipe(Effect.provide(Resolver.layerTest())))
})

// -----------------------------------------------------------------------------
// integration: the live resolver against real DNS servers on loopback
// -----------------------------------------------------------------------------

/** The live layer, built in the test's scope (so it lives until the test ends). */
const liveResolver = (input: ConnectionConfig.ConnectionSettingsInput) =>
  Effect.map(
    Layer.build(Resolver.layer.pipe(Layer.provide(ConnectionConfig.layer({ url: `https://${HOST}/json/`, ...input })))),
    Context.get(Resolver.Resolver)
  )

/** Two servers on one high port: 127.0.0.2 and 127.0.0.3, both authoritative for example.test. */
const twoServers = Effect.gen(function*() {
  const zone: ReadonlyArray<DnsServer.ZoneRecord> = [
    { name: "example.test", type: "NS", value: "ns1.example.test", ttl: 30 },
    { name: "example.test", type: "NS", value: "ns2.example.test", ttl: 30 },
    { name: "ns1.example.test", type: "A", value: "127.0.0.2", ttl: 30 },
    { name: "ns2.example.test", type: "A", value: "127.0.0.3", ttl: 30 },
    { name: HOST, type: "A", value: "127.0.0.10", ttl: 1 }
  ]
  const a = yield* DnsServer.make({ address: "127.0.0.2", records: zone })
  const b = yield* DnsServer.make({ address: "127.0.0.3", port: a.port, records: zone })
  return { a, b }
})

const elapsed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const value = yield* effect
    return { value, millis: (yield* Clock.currentTimeMillis) - start }
  })

describe("Resolver (live, DNS servers on loopback)", () => {
  it.live("D1: a 1 s record changed while running is picked up once its TTL has passed, not before", () =>
    Effect.scoped(Effect.gen(function*() {
      const { a } = yield* twoServers
      const resolver = yield* liveResolver({
        nameservers: a.nameserver,
        dnsDiscovery: false
      })
      const first = yield* resolver.resolve(HOST)
      expect(first.addresses).toEqual(["127.0.0.10"])
      expect(Duration.toMillis(first.ttl)).toBe(1_000)
      expect(first.nameserver).toBe(a.nameserver)
      yield* a.setRecord(HOST, "A", "127.0.0.11", 1)
      expect((yield* resolver.resolve(HOST)).addresses).toEqual(["127.0.0.10"])
      expect((yield* a.queries).length).toBe(1)
      yield* Effect.sleep(Duration.millis(first.expiresAt - (yield* Clock.currentTimeMillis) + 50))
      expect((yield* resolver.resolve(HOST)).addresses).toEqual(["127.0.0.11"])
      expect((yield* a.queries).length).toBe(2)
    })))

  it.live("U3: a dead first server (bound, never answers) costs the hedge delay, well under dnsTimeout", () =>
    Effect.scoped(Effect.gen(function*() {
      const { a, b } = yield* twoServers
      yield* a.setMode("swallow")
      const resolver = yield* liveResolver({
        nameservers: `${a.nameserver},${b.nameserver}`,
        dnsDiscovery: false
      })
      const hedgesBefore = (yield* Metric.value(ConnectionService.metrics.dnsHedges)).count
      const { millis, value } = yield* elapsed(resolver.resolve(HOST).pipe(Effect.timeout("1 second")))
      expect(value.nameserver).toBe(b.nameserver)
      // Both were asked, the first still open when the second answered; 1 s is dnsTimeout.
      expect((yield* a.queries).length).toBe(1)
      expect((yield* b.queries).length).toBe(1)
      expect(millis).toBeLessThan(500)
      expect((yield* Metric.value(ConnectionService.metrics.dnsHedges)).count).toBeGreaterThan(hedgesBefore)
      console.log(`U3 measured: past a swallowing first server in ${millis} ms (dnsTimeout 1 s)`)

      // The lost query ends in its own time-out; then the dead server is asked last (D3).
      yield* Effect.sleep("1100 millis")
      yield* resolver.invalidate(HOST)
      const again = yield* elapsed(resolver.resolve(HOST))
      expect(again.millis).toBeLessThan(200)
      expect((yield* a.queries).length).toBe(1)
    })))

  it.live("U3/D3: every server dead ends in about dnsTimeout per server, not more, with DnsUnavailable", () =>
    Effect.scoped(Effect.gen(function*() {
      const { a, b } = yield* twoServers
      yield* a.setMode("swallow")
      yield* b.setMode("swallow")
      const resolver = yield* liveResolver({
        nameservers: `${a.nameserver},${b.nameserver}`,
        dnsDiscovery: false
      })
      const { millis, value } = yield* elapsed(Effect.flip(resolver.resolve(HOST)))
      expect(value._tag).toBe("DnsUnavailable")
      if (value._tag === "DnsUnavailable") {
        expect(value.failures.map((f) => `${f.nameserver} ${f.reason}`)).toEqual([
          `${a.nameserver} timeout`,
          `${b.nameserver} timeout`
        ])
      }
      expect(millis).toBeGreaterThanOrEqual(990)
      expect(millis).toBeLessThan(2_500)
    })))

  it.live("D3: refused, SERVFAIL, garbage and a closed port fail over at once", () =>
    Effect.scoped(Effect.gen(function*() {
      const { a, b } = yield* twoServers
      const closed = `127.0.0.4:${a.port}`
      const resolver = yield* liveResolver({
        nameservers: `${closed},${a.nameserver},${b.nameserver}`,
        dnsDiscovery: false,
        dnsHealthWindow: 0
      })
      for (const mode of ["refused", "servfail", "malformed"] as const) {
        yield* a.setMode(mode)
        yield* resolver.invalidate(HOST)
        const { millis, value } = yield* elapsed(resolver.resolve(HOST))
        expect(value.nameserver).toBe(b.nameserver)
        expect(millis).toBeLessThan(500)
      }
      yield* a.setMode("swallow")
      yield* b.setMode("refused")
      yield* resolver.invalidate(HOST)
      const error = yield* Effect.flip(resolver.resolve(HOST))
      expect(error._tag).toBe("DnsUnavailable")
      if (error._tag === "DnsUnavailable") {
        expect(error.failures.map((f) => `${f.nameserver} ${f.reason}`)).toEqual([
          `${closed} network`,
          `${a.nameserver} timeout`,
          `${b.nameserver} refused`
        ])
      }
      expect(error.message).toContain(`${a.nameserver} did not answer within 1s`)
    })))

  it.live("D4: NS records pointing at both servers make the list, and a dead one is failed over", () =>
    Effect.scoped(Effect.gen(function*() {
      const { a, b } = yield* twoServers
      const resolver = yield* liveResolver({
        nameservers: a.nameserver,
        dnsZone: "example.test",
        dnsDiscovery: true,
        dnsTimeout: "300 millis"
      })
      const list = yield* resolver.nameservers
      expect(list.map((s) => `${s.nameserver} ${s.name} ${s.source}`)).toEqual([
        `${a.nameserver} ns1.example.test discovered`,
        `${b.nameserver} ns2.example.test discovered`
      ])
      yield* a.setMode("swallow")
      const { millis, value } = yield* elapsed(resolver.resolve(HOST))
      expect(value.nameserver).toBe(b.nameserver)
      // Hedged past (U3) before the 300 ms time-out; never more than one time-out.
      expect(millis).toBeLessThan(800)
      const each = yield* resolver.queryEach(HOST)
      expect(each.map((e) => `${e.nameserver} ${Either.isRight(e.result) ? "ok" : e.result.left._tag}`)).toEqual([
        `${a.nameserver} DnsUnavailable`,
        `${b.nameserver} ok`
      ])
    })))

  it.live("D1: an answer truncated over UDP is asked again over TCP", () =>
    Effect.scoped(Effect.gen(function*() {
      const { a } = yield* twoServers
      yield* a.setTruncateUdp(true)
      const resolver = yield* liveResolver({
        nameservers: a.nameserver,
        dnsDiscovery: false
      })
      expect((yield* resolver.resolve(HOST)).addresses).toEqual(["127.0.0.10"])
      expect((yield* a.queries).map((q) => q.transport)).toEqual(["udp", "tcp"])
    })))
})
