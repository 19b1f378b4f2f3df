/**
 * The shared retry budget (U1), caller deadlines (U2) and recovery against real loopback sockets:
 * many requests at once against an address that refuses, then a real TLS server on it.
 */
import { describe, expect, it } from "@effect/vitest"
import { DnsServer, TestCa } from "@stpp/simulator"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Schedule from "effect/Schedule"
import * as Fs from "node:fs"
import * as Https from "node:https"
import * as Os from "node:os"
import * as Path from "node:path"
import * as ConnectionConfig from "../src/ConnectionConfig.js"
import * as ConnectionService from "../src/ConnectionService.js"
import { gateways } from "./fixtures/Gateways.js"

const HOST = "gateway.stpp.test"
const DEAD = "127.0.1.72"

const post = (reference: string) =>
  Effect.flatMap(ConnectionService.ConnectionService, (s) =>
    s.request({
      body: JSON.stringify({ request: [{ requesttypedescriptions: ["AUTH"], baseamount: "100" }] }),
      headers: { "content-type": "application/json;charset=utf-8" },
      reference
    }))

describe("ConnectionService retry budget (real sockets)", () => {
  it.live(
    "U1/U2: 200 callers against a refusing address all hear NotSent in time, then traffic resumes",
    () =>
      Effect.gen(function*() {
        const ca = yield* TestCa.make()
        const leaf = (yield* TestCa.leaves(ca, HOST)).good
        // a gateway on another address only fixes the port; DNS names DEAD, where nothing listens
        const gw = yield* gateways(["127.0.1.71"], { key: leaf.key, cert: leaf.chain })
        const dns = yield* DnsServer.make({
          address: "127.0.0.1",
          port: 0,
          records: [{ name: HOST, type: "A", value: DEAD, ttl: 30 }]
        })
        const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "stpp-budget-"))
        const caFile = Path.join(dir, "root.pem")
        Fs.writeFileSync(caFile, ca.root.cert)
        yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
        const layer = ConnectionService.layerWithoutConfig.pipe(
          Layer.provide(ConnectionConfig.layer({
            url: `https://${HOST}:${gw.port}/json/`,
            nameservers: [dns.nameserver],
            dnsDiscovery: false,
            trustStore: "only",
            caFiles: [caFile],
            connectTimeout: "300ms",
            retryTimeout: "1500ms",
            ioTimeout: "2s",
            retryBaseDelay: "50ms",
            retryMaxDelay: "200ms",
            logLevel: "warning"
          }))
        )
        yield* Effect.gen(function*() {
          const outcomes = yield* Effect.forEach(
            Array.from({ length: 200 }, (_, i) => i),
            (i) =>
              Effect.gen(function*() {
                const asked = yield* Clock.currentTimeMillis
                const exit = yield* Effect.exit(post(`B${String(i).padStart(8, "0")}`))
                return { exit, waited: (yield* Clock.currentTimeMillis) - asked }
              }),
            { concurrency: "unbounded" }
          )
          let attempts = 0
          for (const { exit, waited } of outcomes) {
            expect(Exit.isFailure(exit)).toBe(true)
            if (Exit.isSuccess(exit)) continue
            const e = exit.cause._tag === "Fail" ? exit.cause.error : undefined
            expect(e?._tag).toBe("NotSent")
            if (e?._tag === "NotSent") attempts += e.attempts
            expect(waited).toBeLessThanOrEqual(1500 + 1000)
          }
          const slowest = Math.max(...outcomes.map((o) => o.waited))
          console.log(
            `budget: 200 callers, ${attempts} connect attempts (${attempts / 200}/request), slowest ${slowest} ms`
          )
          expect(attempts / 200).toBeLessThanOrEqual(2)

          // the gateway comes back on DEAD
          const server = Https.createServer({ key: leaf.key, cert: leaf.chain }, (_req, res) => {
            res.writeHead(200, { "content-type": "application/json" })
            res.end("{}")
          })
          let connections = 0
          server.on("connection", () => connections++)
          yield* Effect.acquireRelease(
            Effect.async<void>((resume) => {
              void server.listen(gw.port, DEAD, () => resume(Effect.void))
            }),
            () =>
              Effect.async<void>((resume) => {
                server.close(() => resume(Effect.void))
              })
          )
          const back = yield* Clock.currentTimeMillis
          const first = yield* post("C00000001").pipe(
            // a caller refused while the budget is still spent asks again after a short pause
            Effect.retry(Schedule.intersect(Schedule.spaced("25 millis"), Schedule.recurs(40))),
            Effect.either
          )
          const recovered = (yield* Clock.currentTimeMillis) - back
          console.log(`budget: recovered after ${recovered} ms, ${connections} connections at first`)
          expect(first._tag).toBe("Right")
          // within about one retry delay (max 200 ms here), and probes first: at most STPP_RETRY_BUDGET_PROBES
          expect(recovered).toBeLessThanOrEqual(1000)
          expect(connections).toBeLessThanOrEqual(2)
          const later = yield* Effect.forEach(
            Array.from({ length: 20 }, (_, i) => i),
            (i) => post(`D${String(i).padStart(8, "0")}`),
            { concurrency: "unbounded" }
          )
          expect(later.every((r) => r.status === 200)).toBe(true)
        }).pipe(Effect.provide(layer))
      }).pipe(Effect.scoped, Effect.provide(Logger.minimumLogLevel(LogLevel.None))),
    30_000
  )
})
