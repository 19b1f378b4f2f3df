/**
 * The shared retry budget (U1), caller deadlines (U2) and recovery against real loopback sockets:
 * many requests at once against an address that refuses, then a real TLS server on it; and against
 * a black hole (a TCP server that accepts and never speaks TLS: every handshake times out).
 */
import { describe, expect, it } from "@effect/vitest"
import { DnsServer, Simulator, TestCa } from "@stpp/simulator"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Schedule from "effect/Schedule"
import * as Fs from "node:fs"
import * as Https from "node:https"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as ConnectionConfig from "../src/ConnectionConfig.js"
import * as ConnectionService from "../src/ConnectionService.js"
import { gateways } from "./fixtures/Gateways.js"

const HOST = "gateway.stpp.test"
const DEAD = "127.0.1.72"
const SILENT = "127.0.1.73"

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
          Layer.provide(
            ConnectionConfig.layer(
              Simulator.settings({
                url: `https://${HOST}:${gw.port}/json/`,
                nameservers: [dns.nameserver],
                caFile: caFile
              }, {
                connectTimeout: "300ms",
                retryTimeout: "1500ms",
                ioTimeout: "2s",
                retryBaseDelay: "50ms",
                retryMaxDelay: "200ms",
                logLevel: "warning"
              })
            )
          )
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

  it.live(
    "U1/U2: 200 callers against a black hole (handshakes time out) all hear NotSent in time, the time-out cost taken",
    () =>
      Effect.gen(function*() {
        const ca = yield* TestCa.make()
        const leaf = (yield* TestCa.leaves(ca, HOST)).good
        const gw = yield* gateways(["127.0.1.71"], { key: leaf.key, cert: leaf.chain })
        // accepts every connection and never answers the ClientHello
        const sockets = new Set<Net.Socket>()
        const silent = Net.createServer((socket) => {
          sockets.add(socket)
          socket.on("error", () => undefined)
          socket.on("close", () => sockets.delete(socket))
        })
        let accepted = 0
        silent.on("connection", () => accepted++)
        yield* Effect.acquireRelease(
          Effect.async<void>((resume) => {
            void silent.listen(gw.port, SILENT, () => resume(Effect.void))
          }),
          () =>
            Effect.async<void>((resume) => {
              for (const socket of sockets) socket.destroy()
              silent.close(() => resume(Effect.void))
            })
        )
        const dns = yield* DnsServer.make({
          address: "127.0.0.1",
          port: 0,
          records: [{ name: HOST, type: "A", value: SILENT, ttl: 30 }]
        })
        const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "stpp-budget-"))
        const caFile = Path.join(dir, "root.pem")
        Fs.writeFileSync(caFile, ca.root.cert)
        yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
        // a retry after a time-out costs 20 tokens, after a refusal 1: 200 tokens are 10 retries
        // after time-outs (200 after refusals)
        const layer = ConnectionService.layerWithoutConfig.pipe(
          Layer.provide(
            ConnectionConfig.layer(
              Simulator.settings({
                url: `https://${HOST}:${gw.port}/json/`,
                nameservers: [dns.nameserver],
                caFile: caFile
              }, {
                connectTimeout: "200ms",
                retryTimeout: "1500ms",
                ioTimeout: "2s",
                retryBaseDelay: "50ms",
                retryMaxDelay: "200ms",
                retryBudget: 200,
                retryBudgetCost: 1,
                retryBudgetTimeoutCost: 20,
                logLevel: "warning"
              })
            )
          )
        )
        yield* Effect.gen(function*() {
          const outcomes = yield* Effect.forEach(
            Array.from({ length: 200 }, (_, i) => i),
            (i) =>
              Effect.gen(function*() {
                const asked = yield* Clock.currentTimeMillis
                const exit = yield* Effect.exit(post(`H${String(i).padStart(8, "0")}`))
                return { exit, waited: (yield* Clock.currentTimeMillis) - asked }
              }),
            { concurrency: "unbounded" }
          )
          let attempts = 0
          let retries = 0
          const causes = new Map<string, number>()
          for (const { exit, waited } of outcomes) {
            expect(Exit.isFailure(exit)).toBe(true)
            if (Exit.isSuccess(exit)) continue
            const e = exit.cause._tag === "Fail" ? exit.cause.error : undefined
            expect(e?._tag).toBe("NotSent")
            if (e?._tag !== "NotSent") continue
            attempts += e.attempts
            retries += Math.max(0, e.attempts - 1)
            const cause = e.cause._tag === "RetryBudgetSpent" ? `RetryBudgetSpent(${e.cause.last._tag})` : e.cause._tag
            causes.set(cause, (causes.get(cause) ?? 0) + 1)
            if (e.cause._tag === "RetryBudgetSpent") {
              // spent by a time-out: fewer tokens left than one time-out retry costs
              expect(e.cause.last._tag).toBe("HandshakeTimeout")
              expect(e.cause.tokens).toBeLessThan(20)
            }
            expect(waited).toBeLessThanOrEqual(1500 + 1000)
          }
          const slowest = Math.max(...outcomes.map((o) => o.waited))
          console.log(
            `budget (black hole): 200 callers, ${attempts} connect attempts (${
              attempts / 200
            }/request), ${retries} retries, ` +
              `slowest ${slowest} ms, ${accepted} TCP connections accepted, causes ${JSON.stringify([...causes])}`
          )
          expect(attempts / 200).toBeLessThanOrEqual(2)
          // the time-out cost (20) was taken, not the refusal's (1): at most 200 / 20 retries
          expect(retries).toBeGreaterThan(0)
          expect(retries).toBeLessThanOrEqual(10)
          expect(causes.get("RetryBudgetSpent(HandshakeTimeout)") ?? 0).toBeGreaterThan(0)
          // the attempts reached the silent server (a handshake stall, not a refusal)
          expect(accepted).toBeGreaterThan(0)
          expect(accepted).toBeLessThanOrEqual(attempts)
        }).pipe(Effect.provide(layer))
      }).pipe(Effect.scoped, Effect.provide(Logger.minimumLogLevel(LogLevel.None))),
    30_000
  )
})
