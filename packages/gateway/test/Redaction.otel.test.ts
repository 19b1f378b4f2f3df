/**
 * E2: redaction at the source, as a user meets it: @effect/opentelemetry with an in-memory span
 * exporter and an app logger beside the library, real requests to the simulator (real DNS, real
 * TLS), and a hostile gateway on loopback that echoes the card data, the password and the
 * Authorization value back. No test PAN, password or Authorization value may reach a span, an
 * app log line or an error.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, it } from "@effect/vitest"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as ConnectionService from "@stpp/connect/ConnectionService"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"
import * as Https from "node:https"
import type * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as DnsServer from "../../simulator/src/DnsServer.js"
import * as Simulator from "../../simulator/src/Simulator.js"
import * as TestCa from "../../simulator/src/TestCa.js"
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
    Layer.provide(ConnectionService.layerWith(Simulator.settings(sim, { maxRetries: 1, logLevel: "debug" })))
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

  it.scopedLive(
    "E2 hostile: tracer and app logger nearest the program, a gateway echoing secrets, a PAN in the orderreference",
    () =>
      Effect.gen(function*() {
        const gateway = yield* hostileGateway
        const exporter = new KeepingExporter()
        const tracing = NodeSdk.layer(() => ({
          resource: { serviceName: "otel-hostile-test" },
          spanProcessor: new SimpleSpanProcessor(exporter)
        }))
        const lines: Array<string> = []
        const appLogger = Logger.make(({ annotations, cause, logLevel, message, spans }) => {
          lines.push(JSON.stringify({
            level: logLevel.label,
            message,
            annotations: [...annotations],
            spans: [...spans].map((s) => s.label),
            cause: Cause.pretty(cause, { renderErrorCause: true })
          }))
        })
        const appLogging = Logger.replace(Logger.defaultLogger, appLogger)
        const program = Effect.gen(function*() {
          const c = yield* GatewayClient.GatewayClient
          const service = yield* ConnectionService.ConnectionService
          const pay = (behaviour: string) => ({
            orderreference: `${behaviour} ${PANS[0]}`,
            baseamount: "1050",
            currencyiso3a: "GBP",
            accounttypedescription: "ECOM",
            pan: Redacted.make(PANS[1]),
            expirydate: Redacted.make("12/2030"),
            securitycode: Redacted.make("123")
          })
          const results = [
            yield* Effect.either(c.auth(pay("errordata"))),
            yield* Effect.either(c.auth(pay("errormessage"))),
            yield* Effect.either(c.authOrLookup(pay("unknown"))),
            yield* Effect.either(c.authOrLookup(pay("mismatch"))),
            yield* Effect.either(c.authOrLookup(pay("status"))),
            yield* Effect.either(c.authOrLookup(pay("reset"))),
            // a caller of the service itself, whose reference holds a card number
            yield* Effect.either(service.request({
              body: JSON.stringify({
                request: [{ orderreference: "reset-direct", requesttypedescriptions: ["AUTH"] }]
              }),
              auth: { username: USERNAME, password: Redacted.make(PASSWORD) },
              reference: `caller ${PANS[2]}`
            }))
          ]
          yield* Effect.logWarning("app: hostile payments done")
          return results
        }).pipe(
          Effect.withSpan("app.pay"),
          // nearest the program: no library code is around the app's tracer or logger
          Effect.provide(tracing),
          Effect.provide(appLogging),
          Effect.provide(
            GatewayClient.layer({ username: USERNAME, password: Redacted.make(PASSWORD), sitereference: "test_site1" })
              .pipe(Layer.provideMerge(ConnectionService.layerWith(Simulator.settings(
                { url: gateway.url, nameservers: [gateway.nameserver], caFile: gateway.caFile },
                { maxRetries: 0, logLevel: "debug" }
              ))))
          ),
          // and where the client is built, so the library's own lines go to the app's logger too
          Effect.provide(appLogging)
        )
        const results = yield* program
        // what happened is still said, by tag
        expect(results.map((r) => r._tag === "Left" ? r.left._tag : "_tag" in r.right ? r.right._tag : "response"))
          .toEqual([
            "InvalidField",
            "GatewayFailure",
            "ContactSupport",
            "Authorised",
            "PaymentNotFound",
            "Authorised",
            "OutcomeUnknown"
          ])
        // the gateway really got the secrets, and echoed them
        expect(gateway.received.some((b) => b.includes(PANS[1]))).toBe(true)
        expect(gateway.authorizations).toContain(`Basic ${BASIC}`)
        expect(gateway.received.length).toBe(11)

        const spans = exporter.getFinishedSpans()
        expect(spans.map((s) => s.name)).toContain("GatewayClient.send")
        expect(spans.map((s) => s.name)).toContain("stpp.request")
        expect(spans.some((s) => s.events.some((e) => e.name === "exception"))).toBe(true)
        const dump = JSON.stringify(spans.map((s) => ({
          name: s.name,
          attributes: s.attributes,
          events: s.events,
          status: s.status,
          links: s.links
        })))
        expect(leaks(dump)).toEqual([])
        expect(dump).toContain("411111******1111")

        // the app's logger: the library's lines (the outcome-unknown error, the recoveries) and its own
        expect(lines.some((l) => l.includes("app: hostile payments done"))).toBe(true)
        expect(lines.some((l) => l.includes("outcome unknown: do not resend"))).toBe(true)
        expect(lines.some((l) => l.includes("found it by its order reference"))).toBe(true)
        expect(lines.flatMap(leaks)).toEqual([])

        // the errors themselves: fields, message and stack
        const errors = results.flatMap((r) => r._tag === "Left" ? [r.left] : [])
        const errorText = JSON.stringify(errors.map((e) => ({ ...e, message: e.message, stack: e.stack })))
        expect(leaks(errorText)).toEqual([])
      }),
    { timeout: 60_000 }
  )
})

// -----------------------------------------------------------------------------
// a hostile gateway: real TLS on loopback, real DNS, echoing what it was sent
// -----------------------------------------------------------------------------

const HOST = "gw.hostile-otel.test"
const ADDRESS = "127.0.0.97"

/**
 * Answers by the behaviour named first in the orderreference: every answer echoes the card number,
 * the expiry, the security code, the password and the Authorization value wherever the gateway's
 * own text can go (errordata, errormessage, errorcode, references, a 5xx body). A lookup
 * (TRANSACTIONQUERY) finds the payment in a state chosen by the same behaviour.
 */
const hostileGateway = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "stpp-otel-hostile-"))),
    (d) => Effect.sync(() => Fs.rmSync(d, { recursive: true, force: true }))
  )
  const ca = yield* TestCa.make({ now: new Date() })
  const leaf = yield* ca.issue({ hostnames: [HOST] })
  const caFile = Path.join(dir, "ca.pem")
  Fs.writeFileSync(caFile, ca.root.cert)
  const received: Array<string> = []
  const authorizations: Array<string> = []
  const server = Https.createServer({ key: leaf.key, cert: leaf.chain }, (req, res) => {
    let body = ""
    req.setEncoding("utf8").on("data", (d: string) => (body += d))
    req.on("end", () => {
      received.push(body)
      const authorization = String(req.headers.authorization)
      authorizations.push(authorization)
      const item = (JSON.parse(body) as { request: Array<Record<string, unknown>> }).request[0]
      const echo = [item.pan, item.expirydate, item.securitycode, PASSWORD, authorization].map(String).join(" ")
      const reference = String(item.requestreference)
      const answer = (fields: Record<string, unknown>, envelopeReference = reference) =>
        res.setHeader("content-type", "application/json").end(JSON.stringify({
          requestreference: envelopeReference,
          version: "1.00",
          response: [{ requestreference: envelopeReference, ...fields }]
        }))
      const query = item.requesttypedescriptions !== undefined &&
        JSON.stringify(item.requesttypedescriptions).includes("TRANSACTIONQUERY")
      const behaviour = (query ? JSON.stringify(item.filter) : String(item.orderreference)).match(
        /(errordata|errormessage|unknown|mismatch|status|reset-direct|reset)/
      )?.[1]
      const record = (errorcode: string) => ({
        requesttypedescription: "AUTH",
        errorcode,
        transactionreference: PANS[2],
        orderreference: `${behaviour} ${PANS[0]}`,
        maskedpan: "411111######1111"
      })
      if (query) {
        const records = behaviour === "status" ? [] : [record(behaviour === "unknown" ? "60010" : "0")]
        return answer({
          requesttypedescription: "TRANSACTIONQUERY",
          errorcode: "0",
          found: String(records.length),
          records
        })
      }
      switch (behaviour) {
        case "errordata":
          return answer({ requesttypedescription: "AUTH", errorcode: "30000", errormessage: echo, errordata: [echo] })
        case "errormessage":
          return answer({ requesttypedescription: "AUTH", errorcode: PANS[2], errormessage: `Bad request: ${echo}` })
        case "unknown":
          return answer({
            requesttypedescription: "AUTH",
            errorcode: "60010",
            errormessage: `Bank unreachable for ${echo}`,
            transactionreference: PANS[0]
          })
        case "mismatch":
          return answer({ requesttypedescription: "AUTH", errorcode: "0" }, `${PANS[0]} ${PASSWORD}`)
        case "status":
          res.statusCode = 500
          return res.end(`Internal error while handling ${body} with Authorization: ${authorization}`)
        default:
          // read the request, then reset: the outcome is unknown
          return req.socket.destroy()
      }
    })
  })
  const port = yield* Effect.acquireRelease(
    Effect.async<number>((resume) => {
      server.listen(0, ADDRESS, () => resume(Effect.succeed((server.address() as Net.AddressInfo).port)))
    }),
    () =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )
  const dns = yield* DnsServer.make({ records: [{ name: HOST, type: "A", value: ADDRESS, ttl: 1 }] })
  return { url: `https://${HOST}:${port}/json/`, nameserver: dns.nameserver, caFile, received, authorizations }
})
