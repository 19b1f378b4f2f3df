/**
 * E2: redaction at the source, as a user meets it: @effect/opentelemetry with an in-memory span
 * exporter and an app logger beside the library, real requests to the simulator (real DNS, real
 * TLS). No test PAN, password or Authorization value may reach a span or an app log line.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, it } from "@effect/vitest"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as ConnectionService from "@stpp/connect/ConnectionService"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Simulator from "../../simulator/src/Simulator.js"
import * as GatewayClient from "../src/GatewayClient.js"

const PANS = ["4111111111111111", "4000000000001000", "5100000000000511"]
const PASSWORD = "otel-pw-Secret-91"
const USERNAME = "ws-otel@example.test"
const BASIC = Buffer.from(`${USERNAME}:${PASSWORD}`).toString("base64")
const SECRETS = [...PANS, PASSWORD, BASIC]

// InMemorySpanExporter forgets its spans on shutdown, which NodeSdk.layer calls when its scope closes
class KeepingExporter extends InMemorySpanExporter {
  override shutdown(): Promise<void> {
    return Promise.resolve()
  }
}

const leaks = (text: string) => SECRETS.filter((s) => text.includes(s))

const client = (sim: Simulator.Simulator) =>
  GatewayClient.layer({ username: USERNAME, password: Redacted.make(PASSWORD), sitereference: sim.sitereference }).pipe(
    Layer.provide(ConnectionService.layerWith({
      url: sim.url,
      nameservers: sim.nameservers,
      caFiles: [sim.caFile],
      trustStore: "only",
      dnsDiscovery: false,
      connectTimeout: "2s",
      retryTimeout: "5s",
      ioTimeout: "3s",
      maxRetries: 1,
      logLevel: "debug"
    }))
  )

const auth = (pan: string, baseamount: string, securitycode = "123") =>
  Effect.flatMap(GatewayClient.GatewayClient, (c) =>
    c.auth({
      orderreference: `otel-${pan.slice(-4)}-${baseamount}`,
      baseamount,
      currencyiso3a: "GBP",
      accounttypedescription: "ECOM",
      pan: Redacted.make(pan),
      expirydate: Redacted.make("12/2030"),
      securitycode: Redacted.make(securitycode)
    })).pipe(Effect.either)

// every request the test makes: success, decline, invalid field, and one refused before sending
const requests = Effect.all([
  auth(PANS[0], "1050"),
  auth(PANS[1], "70000"),
  auth(PANS[2], "1050", "12345678"),
  auth(PANS[0], "not-an-amount")
])

describe("redaction under an app's tracer and logger (E2)", () => {
  it.scopedLive("E2: spans exported by @effect/opentelemetry hold no PAN, password or Authorization", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.start({ username: USERNAME, password: PASSWORD })
      const exporter = new KeepingExporter()
      const tracing = NodeSdk.layer(() => ({
        resource: { serviceName: "otel-redaction-test" },
        spanProcessor: new SimpleSpanProcessor(exporter)
      }))
      const outcomes = yield* requests.pipe(
        Effect.withSpan("app.pay"),
        Effect.provide(client(sim)),
        Effect.provide(tracing)
      )
      expect(outcomes.map((o) => o._tag)).toEqual(["Right", "Right", "Left", "Left"])
      expect(sim.transactions().length).toBeGreaterThanOrEqual(2)
      const spans = exporter.getFinishedSpans()
      const names = spans.map((s) => s.name)
      expect(names).toContain("app.pay")
      expect(names.filter((n) => n !== "app.pay").length).toBeGreaterThan(0)
      const dump = JSON.stringify(spans.map((s) => ({
        name: s.name,
        attributes: s.attributes,
        events: s.events,
        status: s.status,
        links: s.links
      })))
      expect(leaks(dump)).toEqual([])
    }))

  it.scopedLive("E2: an app logger beside the library: no secret, the app's minimum level, no line twice", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.start({ username: USERNAME, password: PASSWORD })
      const lines: Array<{ level: string; text: string }> = []
      const appLogger = Logger.make(({ annotations, cause, logLevel, message }) => {
        lines.push({
          level: logLevel.label,
          text: JSON.stringify({ message, annotations: [...annotations], cause: String(cause) })
        })
      })
      yield* requests.pipe(
        Effect.tap(() => Effect.logWarning("app: payments done")),
        Effect.provide(client(sim)),
        Effect.provide(Logger.replace(Logger.defaultLogger, appLogger)),
        Effect.provide(Logger.minimumLogLevel(LogLevel.Warning))
      )
      expect(lines.some((l) => l.text.includes("app: payments done"))).toBe(true)
      expect(lines.filter((l) => !["WARN", "ERROR", "FATAL"].includes(l.level))).toEqual([])
      expect(lines.flatMap((l) => leaks(l.text))).toEqual([])
      const texts = lines.map((l) => l.text)
      expect(texts.filter((t, i) => texts.indexOf(t) !== i)).toEqual([])
    }))
})
