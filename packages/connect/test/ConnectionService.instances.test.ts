/**
 * E1: two configurations in one app are two services. Two simulators on loopback (each its own
 * CA, DNS server, addresses and web-services user), real DNS and real TLS; each configuration's
 * requests reach only its own simulator, with only its own credentials.
 */
import { describe, expect, it, vi } from "@effect/vitest"
import { Simulator } from "@stpp/simulator"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as ConnectionConfig from "../src/ConnectionConfig.js"
import * as ConnectionService from "../src/ConnectionService.js"

type Service = ConnectionService.ConnectionService["Type"]
class MerchantA extends Context.Tag("test/MerchantA")<MerchantA, Service>() {}
class MerchantB extends Context.Tag("test/MerchantB")<MerchantB, Service>() {}

const startTwo = Effect.all([
  Simulator.start({ addresses: ["127.0.0.71", "127.0.0.72"], username: "ws-a@example.test", password: "pw-a-1" }),
  Simulator.start({ addresses: ["127.0.0.73", "127.0.0.74"], username: "ws-b@example.test", password: "pw-b-2" })
])

const settingsOf = (sim: Simulator.Simulator): ConnectionConfig.ConnectionSettingsInput =>
  Simulator.settings(sim, { maxRetries: 2, logLevel: "warning" })

// One AUTH-shaped request with the simulator's own user, so its request log names who sent it.
const post = (service: Service, sim: Simulator.Simulator, reference: string) =>
  service.request({
    body: JSON.stringify({ alias: sim.username, version: "1.00", request: [{ requesttypedescriptions: ["AUTH"] }] }),
    headers: { "content-type": "application/json", requestreference: reference },
    auth: { username: sim.username, password: Redacted.make(sim.password) },
    reference
  })

const seen = (sim: Simulator.Simulator) =>
  sim.gateway.requestLog().map((r) => ({
    reference: r.requestreference,
    username: r.username,
    authenticated: r.authenticated
  }))

describe("ConnectionService: several configurations in one app (E1)", () => {
  it.scopedLive("E1: two layerWith calls provided in one app are two services, each reaching its own gateway", () =>
    Effect.gen(function*() {
      const [a, b] = yield* startTwo
      const App = Layer.mergeAll(
        Layer.effect(MerchantA, ConnectionService.ConnectionService).pipe(
          Layer.provide(ConnectionService.layerWith(settingsOf(a)))
        ),
        Layer.effect(MerchantB, ConnectionService.ConnectionService).pipe(
          Layer.provide(ConnectionService.layerWith(settingsOf(b)))
        )
      )
      const context = yield* Layer.build(App)
      const serviceA = Context.get(context, MerchantA)
      const serviceB = Context.get(context, MerchantB)
      expect(serviceA).not.toBe(serviceB)
      expect(serviceA.endpoint.port).toBe(a.port)
      expect(serviceB.endpoint.port).toBe(b.port)

      const ra = yield* post(serviceA, a, "ref-a-1")
      const rb = yield* post(serviceB, b, "ref-b-1")
      yield* post(serviceA, a, "ref-a-2")
      expect([ra.status, rb.status]).toEqual([200, 200])
      expect(a.addresses).toContain(ra.address)
      expect(b.addresses).toContain(rb.address)
      expect(seen(a)).toEqual([
        { reference: "ref-a-1", username: "ws-a@example.test", authenticated: true },
        { reference: "ref-a-2", username: "ws-a@example.test", authenticated: true }
      ])
      expect(seen(b)).toEqual([{ reference: "ref-b-1", username: "ws-b@example.test", authenticated: true }])
    }))

  it.scopedLive("E1: layerConfig reads each merchant's settings under its own prefix", () =>
    Effect.gen(function*() {
      const [a, b] = yield* startTwo
      const env = new Map<string, string>()
      for (const [prefix, sim] of [["MERCHANT_A", a], ["MERCHANT_B", b]] as const) {
        env.set(`${prefix}_STPP_URL`, sim.url)
        env.set(`${prefix}_STPP_NAMESERVERS`, sim.nameservers.join(","))
        env.set(`${prefix}_STPP_CA_FILE`, sim.caFile)
        env.set(`${prefix}_STPP_TRUST_STORE`, "only")
        env.set(`${prefix}_STPP_DNS_DISCOVERY`, "false")
      }
      const App = Layer.mergeAll(
        Layer.effect(MerchantA, ConnectionService.ConnectionService).pipe(
          Layer.provide(ConnectionService.layerConfig(Config.nested(ConnectionConfig.config, "MERCHANT_A")))
        ),
        Layer.effect(MerchantB, ConnectionService.ConnectionService).pipe(
          Layer.provide(ConnectionService.layerConfig(Config.nested(ConnectionConfig.config, "MERCHANT_B")))
        )
      )
      const context = yield* Layer.build(App).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(env, { pathDelim: "_" }))
      )
      yield* post(Context.get(context, MerchantB), b, "ref-b-9")
      yield* post(Context.get(context, MerchantA), a, "ref-a-9")
      expect(seen(a)).toEqual([{ reference: "ref-a-9", username: "ws-a@example.test", authenticated: true }])
      expect(seen(b)).toEqual([{ reference: "ref-b-9", username: "ws-b@example.test", authenticated: true }])
    }))

  it.scopedLive("E1: makeWith gives a separate service per call, bound to the app's own tags", () =>
    Effect.gen(function*() {
      const [a, b] = yield* startTwo
      const serviceA = yield* Effect.flatMap(ConnectionConfig.make(settingsOf(a)), ConnectionService.makeWith)
      const serviceB = yield* Effect.flatMap(ConnectionConfig.make(settingsOf(b)), ConnectionService.makeWith)
      yield* post(serviceB, b, "ref-b-3")
      yield* post(serviceA, a, "ref-a-3")
      expect(seen(a).map((r) => r.reference)).toEqual(["ref-a-3"])
      expect(seen(b).map((r) => r.reference)).toEqual(["ref-b-3"])
    }))

  it.scopedLive("E1: one shared layerWithoutConfig value provided twice is built once (why layerWith exists)", () =>
    Effect.gen(function*() {
      const [a, b] = yield* startTwo
      const App = Layer.mergeAll(
        Layer.effect(MerchantA, ConnectionService.ConnectionService).pipe(
          Layer.provide(ConnectionService.layerWithoutConfig.pipe(Layer.provide(ConnectionConfig.layer(settingsOf(a)))))
        ),
        Layer.effect(MerchantB, ConnectionService.ConnectionService).pipe(
          Layer.provide(ConnectionService.layerWithoutConfig.pipe(Layer.provide(ConnectionConfig.layer(settingsOf(b)))))
        )
      )
      const context = yield* Layer.build(App)
      // Effect memoises the one value: both tags hold the service built with the first settings.
      expect(Context.get(context, MerchantB)).toBe(Context.get(context, MerchantA))
      expect(Context.get(context, MerchantB).endpoint.port).toBe(a.port)
      expect(b.gateway.requestLog()).toEqual([])
    }))

  it.scopedLive("E1: two layerWith services log each line once (one shared redacting logger), redacted", () =>
    Effect.gen(function*() {
      const [a, b] = yield* startTwo
      const App = Layer.mergeAll(
        Layer.effect(MerchantA, ConnectionService.ConnectionService).pipe(
          Layer.provide(ConnectionService.layerWith(settingsOf(a)))
        ),
        Layer.effect(MerchantB, ConnectionService.ConnectionService).pipe(
          Layer.provide(ConnectionService.layerWith(settingsOf(b)))
        )
      )
      // The services write to standard error: capture what reaches it while the app runs.
      const written: Array<string> = []
      const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk))
        return true
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => spy.mockRestore()))
      yield* Effect.gen(function*() {
        yield* post(yield* MerchantA, a, "ref-a-log")
        yield* post(yield* MerchantB, b, "ref-b-log")
        yield* Effect.logWarning("app event: card 4111111111111111")
      }).pipe(Effect.provide(App))
      spy.mockRestore()
      const ours = written.filter((line) => line.includes("app event"))
      expect(ours.length).toBe(1)
      expect(JSON.parse(ours[0]).message).toBe("app event: card 411111******1111")
      expect(written.some((line) => line.includes("4111111111111111"))).toBe(false)
    }))
})
