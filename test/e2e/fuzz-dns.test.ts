/**
 * Fuzzing DNS answers (issue 11): a raw UDP server on loopback answers each query with generated
 * bytes (empty, garbage, wrong id, wrong type, error codes, huge and zero TTLs, truncated records).
 * The live Resolver must give a typed `DnsError` or an answer whose TTL is capped, within its budget.
 */
import * as ConnectionConfig from "@stpp/connect/ConnectionConfig"
import * as Resolver from "@stpp/connect/Resolver"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Dgram from "node:dgram"
import * as Net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { heavyEnabled, heavySkipReason } from "./world.js"

const HOST = "gw.dnsfuzz.securetrading.test"
const DNS_TIMEOUT_MS = 300
const MAX_TTL_S = 60

interface Rr {
  readonly type: number
  readonly ttl: number
  readonly rdata: Uint8Array
  /** Whether the owner name points at the question (else a foreign name). */
  readonly sameName: boolean
}

interface Reply {
  readonly kind: "none" | "raw" | "message"
  readonly raw: Uint8Array
  readonly idDelta: number
  readonly rcode: number
  readonly tc: boolean
  readonly answers: ReadonlyArray<Rr>
  readonly cutAt: number | undefined
}

const u16 = (n: number) => [(n >> 8) & 0xff, n & 0xff]
const u32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]

const encodeName = (name: string): Array<number> => [
  ...name.split(".").flatMap((l) => [l.length, ...Buffer.from(l)]),
  0
]

/** Builds the reply to `query` (whose question is echoed). */
const build = (query: Buffer, reply: Reply): Buffer | undefined => {
  if (reply.kind === "none") return undefined
  if (reply.kind === "raw") return Buffer.from(reply.raw)
  const id = (query.readUInt16BE(0) + reply.idDelta) & 0xffff
  // the question section ends after the name (null label) + 4 bytes
  let p = 12
  while (p < query.length && query[p] !== 0) p += query[p] + 1
  const question = query.subarray(12, p + 5)
  const flags = 0x8400 | (reply.tc ? 0x0200 : 0) | (reply.rcode & 0xf)
  const rrs = reply.answers.flatMap((rr) => [
    ...(rr.sameName ? [0xc0, 12] : encodeName("other.example.test")),
    ...u16(rr.type),
    ...u16(1),
    ...u32(rr.ttl),
    ...u16(rr.rdata.length),
    ...rr.rdata
  ])
  const bytes = Buffer.from([
    ...u16(id),
    ...u16(flags),
    ...u16(1),
    ...u16(reply.answers.length),
    0,
    0,
    0,
    0,
    ...question,
    ...rrs
  ])
  return reply.cutAt === undefined ? bytes : bytes.subarray(0, Math.min(bytes.length, reply.cutAt))
}

const ttl = fc.oneof(
  fc.constantFrom(0, 1, 59, 60, 61, 3600, 86_400, 0x7fffffff, 0xffffffff),
  fc.integer({ min: 0, max: 0xffffffff })
)
const rr: fc.Arbitrary<Rr> = fc.oneof(
  fc.record({
    type: fc.constant(1),
    ttl,
    rdata: fc.tuple(fc.constant(127), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 })).map((a) =>
      Uint8Array.from(a)
    ),
    sameName: fc.boolean()
  }),
  fc.record({
    type: fc.constant(1),
    ttl,
    rdata: fc.uint8Array({ minLength: 5, maxLength: 8 }),
    sameName: fc.constant(true)
  }), // A too long
  fc.record({
    type: fc.constantFrom(5, 16, 28, 2, 99),
    ttl,
    rdata: fc.uint8Array({ maxLength: 40 }),
    sameName: fc.boolean()
  }) // CNAME, TXT, AAAA, NS, other
)
const reply: fc.Arbitrary<Reply> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.constant<Reply>({
      kind: "none",
      raw: new Uint8Array(),
      idDelta: 0,
      rcode: 0,
      tc: false,
      answers: [],
      cutAt: undefined
    })
  },
  {
    weight: 2,
    arbitrary: fc.uint8Array({ maxLength: 64 }).map((raw): Reply => ({
      kind: "raw",
      raw,
      idDelta: 0,
      rcode: 0,
      tc: false,
      answers: [],
      cutAt: undefined
    }))
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("message" as const),
      raw: fc.constant(new Uint8Array()),
      idDelta: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, {
        weight: 1,
        arbitrary: fc.integer({ min: 1, max: 65535 })
      }),
      rcode: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, {
        weight: 2,
        arbitrary: fc.integer({ min: 1, max: 15 })
      }),
      tc: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      answers: fc.array(rr, { maxLength: 4 }),
      cutAt: fc.option(fc.integer({ min: 0, max: 80 }), { nil: undefined, freq: 5 })
    })
  }
)

let socket: Dgram.Socket | undefined
let port = 0
let next: Reply = {
  kind: "none",
  raw: new Uint8Array(),
  idDelta: 0,
  rcode: 0,
  tc: false,
  answers: [],
  cutAt: undefined
}

describe.skipIf(!heavyEnabled)("fuzz: DNS answers from a raw UDP server", () => {
  if (!heavyEnabled) it.skip(heavySkipReason, () => {})

  beforeAll(async () => {
    const s = Dgram.createSocket("udp4")
    s.on("message", (msg, rinfo) => {
      if (msg.length < 12) return
      const out = build(msg, next)
      if (out !== undefined) s.send(out, rinfo.port, rinfo.address)
    })
    await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve))
    port = s.address().port
    socket = s
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => (socket ? socket.close(() => resolve()) : resolve()))
  })

  // Found by this fuzzer (fixed): an A record whose RDATA is shorter than 4 bytes used to resolve to
  // "undefined.undefined.undefined.undefined"; it is now a malformed answer (DnsUnavailable).
  it("D1: an A record with fewer than 4 bytes of RDATA is rejected, not turned into an address", async () => {
    const config = ConnectionConfig.layer({
      url: `https://${HOST}/json/`,
      nameservers: [`127.0.0.1:${port}`],
      dnsDiscovery: false,
      dnsTimeout: `${DNS_TIMEOUT_MS}ms`
    })
    for (const length of [0, 2, 3]) {
      next = {
        kind: "message",
        raw: new Uint8Array(),
        idDelta: 0,
        rcode: 0,
        tc: false,
        answers: [{ type: 1, ttl: 30, rdata: new Uint8Array(length).fill(7), sameName: true }],
        cutAt: undefined
      }
      const exit = await Effect.runPromiseExit(
        Effect.scoped(
          Effect.flatMap(
            Layer.build(Resolver.layer.pipe(Layer.provide(config))),
            (ctx) => Effect.flatMap(Effect.provide(Resolver.Resolver, ctx), (resolver) => resolver.resolve(HOST))
          )
        )
      )
      if (Exit.isSuccess(exit)) {
        for (const address of exit.value.addresses) expect(Net.isIP(address), address).not.toBe(0)
      } else {
        expect(Resolver.isDnsError(Option.getOrUndefined(Cause.failureOption(exit.cause)))).toBe(true)
      }
    }
  })

  it(
    "every answer is a typed DnsError or IPv4 addresses with a TTL capped at STPP_DNS_MAX_TTL, within the budget",
    async () => {
      const config = ConnectionConfig.layer({
        url: `https://${HOST}/json/`,
        nameservers: [`127.0.0.1:${port}`],
        dnsDiscovery: false,
        dnsTimeout: `${DNS_TIMEOUT_MS}ms`,
        dnsMaxTtl: `${MAX_TTL_S}s`
      })
      const layer = Resolver.layer.pipe(Layer.provide(config))
      let answers = 0
      let errors = 0
      await fc.assert(
        fc.asyncProperty(reply, async (r) => {
          next = r
          const started = Date.now()
          // a fresh resolver each time: nothing cached from the previous case
          const exit = await Effect.runPromiseExit(
            Effect.scoped(
              Effect.flatMap(
                Layer.build(layer),
                (ctx) => Effect.flatMap(Effect.provide(Resolver.Resolver, ctx), (resolver) => resolver.resolve(HOST))
              )
            )
          )
          const took = Date.now() - started
          expect(took).toBeLessThan(DNS_TIMEOUT_MS * 2 + 1500)
          if (Exit.isSuccess(exit)) {
            answers++
            const a = exit.value
            expect(a.addresses.length).toBeGreaterThan(0)
            for (const address of a.addresses) expect(Net.isIP(address), address).not.toBe(0)
            expect(Duration.toSeconds(a.ttl)).toBeLessThanOrEqual(MAX_TTL_S)
            expect(Duration.toSeconds(a.ttl)).toBeGreaterThanOrEqual(0)
            // a record's own TTL is never extended
            const own = r.answers.filter((x) => x.type === 1 && x.sameName && x.rdata.length === 4).map((x) => x.ttl)
            if (own.length > 0 && r.kind === "message") {
              expect(Duration.toSeconds(a.ttl)).toBeLessThanOrEqual(
                Math.max(...own.map((t) => t > 0x7fffffff ? MAX_TTL_S : t))
              )
            }
          } else {
            errors++
            expect(Cause.isDie(exit.cause), Cause.pretty(exit.cause)).toBe(false)
            const e = Option.getOrUndefined(Cause.failureOption(exit.cause))
            expect(Resolver.isDnsError(e), Cause.pretty(exit.cause)).toBe(true)
          }
        }),
        { numRuns: 150, interruptAfterTimeLimit: 90_000 }
      )
      // the generator reaches both sides
      expect(answers).toBeGreaterThan(0)
      expect(errors).toBeGreaterThan(0)
    },
    150_000
  )
})
