/**
 * `@effect/platform` HttpClient code over the ConnectionService (E4), against real parts: the
 * simulator's DNS server on loopback, a TLS server on a 127.x address with a certificate from a
 * test CA that echoes what it received, or reads the request and resets.
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import { DnsServer, Simulator, TestCa } from "@stpp/simulator"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import * as Fs from "node:fs"
import type * as Http from "node:http"
import * as Https from "node:https"
import type * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as ConnectionConfig from "../src/ConnectionConfig.js"
import * as ConnectionHttpClient from "../src/ConnectionHttpClient.js"
import * as ConnectionService from "../src/ConnectionService.js"

const HOST = "gateway.stpp.test"
const PAN = "4111111111111111"
const PAN2 = "5555555555554444"

type Mode = "echo" | "reset-after-request" | "status-503"

interface Received {
  readonly method: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

interface Server {
  readonly port: number
  readonly received: Array<Received>
  mode: Mode
}

/** A TLS server on `address` that records each request and answers as its mode says. */
const server = (address: string, tls: { readonly key: string; readonly cert: string }) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Server; readonly https: Https.Server; readonly sockets: Set<Net.Socket> }>(
      (resume) => {
        const sockets = new Set<Net.Socket>()
        const state: { port: number; received: Array<Received>; mode: Mode } = { port: 0, received: [], mode: "echo" }
        const https = Https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
          const chunks: Array<Buffer> = []
          req.on("data", (c: Buffer) => chunks.push(c))
          req.on("end", () => {
            const received: Received = {
              method: req.method ?? "",
              url: req.url ?? "",
              headers: req.headers,
              body: Buffer.concat(chunks).toString("utf8")
            }
            state.received.push(received)
            if (state.mode === "reset-after-request") {
              // RST on the TCP socket under TLS (a TLSSocket cannot resetAndDestroy itself)
              const raw = (req.socket as unknown as { readonly _parent?: Net.Socket })._parent
              if (raw !== undefined) raw.resetAndDestroy()
              else req.socket.destroy()
              return
            }
            const status = state.mode === "status-503" ? 503 : 200
            res.writeHead(status, { "content-type": "application/json", "x-served-by": "loopback" })
            res.end(req.method === "HEAD" ? undefined : JSON.stringify(received))
          })
        })
        https.on("connection", (socket: Net.Socket) => {
          sockets.add(socket)
          socket.on("close", () => sockets.delete(socket))
        })
        https.listen(0, address, () => {
          state.port = (https.address() as Net.AddressInfo).port
          resume(Effect.succeed({ server: state, https, sockets }))
        })
      }
    ),
    ({ https, sockets }) =>
      Effect.async<void>((resume) => {
        for (const s of sockets) s.destroy()
        https.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map((s) => s.server))

interface World {
  readonly server: Server
  readonly layer: Layer.Layer<HttpClient.HttpClient | ConnectionService.ConnectionService>
}

/** A test CA, a TLS server on `address` with a leaf for HOST, DNS naming `dnsAddress` (default: the server's). */
const world = (
  address: string,
  options: {
    readonly leaf?: keyof TestCa.Leaves
    readonly dnsAddress?: string
    readonly settings?: ConnectionConfig.ConnectionSettingsInput
  } = {}
): Effect.Effect<World, never, Scope.Scope> =>
  Effect.gen(function*() {
    const ca = yield* TestCa.make()
    const leaves = yield* TestCa.leaves(ca, HOST)
    const leaf = leaves[options.leaf ?? "good"]
    const s = yield* server(address, { key: leaf.key, cert: leaf.chain })
    const dns = yield* DnsServer.make({
      address: "127.0.0.1",
      port: 0,
      records: [{ name: HOST, type: "A", value: options.dnsAddress ?? address, ttl: 30 }]
    })
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "stpp-hc-"))
    const caFile = Path.join(dir, "root.pem")
    Fs.writeFileSync(caFile, ca.root.cert)
    yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
    const service = ConnectionService.layerWithoutConfig.pipe(
      Layer.provide(
        ConnectionConfig.layer(
          Simulator.settings(
            { url: `https://${HOST}:${s.port}/json/`, nameservers: [dns.nameserver], caFile: caFile },
            {
              connectTimeout: "500ms",
              retryTimeout: "2s",
              ioTimeout: "2s",
              retryBaseDelay: "20ms",
              retryMaxDelay: "100ms",
              logLevel: "none",
              ...options.settings
            }
          )
        )
      ),
      Layer.orDie
    )
    const layer = Layer.provideMerge(ConnectionHttpClient.layer, service)
    return { server: s, layer }
  }).pipe(Effect.orDie)

const quiet = Logger.minimumLogLevel(LogLevel.None)

const origin = (w: World) => `https://${HOST}:${w.server.port}`

const failure = <A, R>(effect: Effect.Effect<A, HttpClientError.HttpClientError, R>) => Effect.flip(effect)

const AuthAnswer = Schema.Struct({
  method: Schema.String,
  url: Schema.String,
  body: Schema.String
})

/** A tracer that keeps every span it was asked for. */
const recordingTracer = () => {
  const spans: Array<{ name: string; parent: string | undefined; spanId: string; attributes: Map<string, unknown> }> =
    []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const record = {
        name,
        parent: Option.isSome(parent) ? parent.value.spanId : undefined,
        spanId: `s${spans.length + 1}`,
        attributes: new Map<string, unknown>()
      }
      spans.push(record)
      let status: Tracer.SpanStatus = { _tag: "Started", startTime }
      return {
        _tag: "Span",
        name,
        spanId: record.spanId,
        traceId: "0af7651916cd43dd8448eb211c80319c",
        parent,
        context,
        get status() {
          return status
        },
        attributes: record.attributes,
        links,
        sampled: true,
        kind,
        end: (endTime, exit) => {
          status = { _tag: "Ended", startTime, endTime, exit }
        },
        attribute: (key, value) => {
          record.attributes.set(key, value)
        },
        event: () => {},
        addLinks: () => {}
      }
    },
    context: (f) => f()
  })
  return { spans, tracer }
}

describe("ConnectionHttpClient (real sockets)", () => {
  it.live("E4: GET with path, query and headers; the whole response as HttpClientResponse", () =>
    Effect.gen(function*() {
      const w = yield* world("127.0.20.1")
      const result = yield* Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        const response = yield* client.execute(
          HttpClientRequest.get(`${origin(w)}/json/status`).pipe(
            HttpClientRequest.setUrlParams({ a: "1", b: "two words" }),
            HttpClientRequest.setHeader("x-merchant", "M1"),
            HttpClientRequest.acceptJson
          )
        )
        return {
          status: response.status,
          served: response.headers["x-served-by"],
          remote: response.remoteAddress,
          json: (yield* response.json) as Received,
          text: yield* response.text,
          bytes: (yield* response.arrayBuffer).byteLength,
          decoded: yield* HttpClientResponse.schemaBodyJson(AuthAnswer)(response)
        }
      }).pipe(Effect.provide(w.layer))
      expect(result.status).toBe(200)
      expect(result.served).toBe("loopback")
      expect(result.remote).toEqual(Option.some("127.0.20.1"))
      expect(result.json.method).toBe("GET")
      expect(result.json.url).toBe("/json/status?a=1&b=two+words")
      expect(result.json.headers["x-merchant"]).toBe("M1")
      expect(result.json.headers["accept"]).toBe("application/json")
      expect(result.bytes).toBe(Buffer.byteLength(result.text))
      expect(result.decoded).toEqual({ method: "GET", url: "/json/status?a=1&b=two+words", body: "" })
      expect(w.server.received.length).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(quiet)))

  it.live("E4: JSON, text, bytes, form and stream bodies arrive whole with their content type", () =>
    Effect.gen(function*() {
      const w = yield* world("127.0.20.2")
      yield* Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        const url = `${origin(w)}/json/`
        yield* client.execute(yield* HttpClientRequest.post(url).pipe(HttpClientRequest.bodyJson({ amount: 100 })))
        yield* client.post(url, { body: HttpBody.text("plain words") })
        yield* client.post(url, { body: HttpBody.uint8Array(new Uint8Array([1, 2, 3])) })
        yield* client.execute(
          HttpClientRequest.post(url).pipe(HttpClientRequest.bodyUrlParams({ a: "1", b: "x y" }))
        )
        yield* client.execute(
          HttpClientRequest.post(url).pipe(HttpClientRequest.bodyFormDataRecord({ field: "value" }))
        )
        yield* client.execute(
          HttpClientRequest.post(url).pipe(
            HttpClientRequest.bodyStream(
              Stream.fromIterable(["part one, ", "part two"]).pipe(Stream.encodeText),
              { contentType: "text/plain" }
            )
          )
        )
      }).pipe(Effect.provide(w.layer))
      const [json, text, bytes, form, multipart, stream] = w.server.received
      expect(json.body).toBe(JSON.stringify({ amount: 100 }))
      expect(json.headers["content-type"]).toBe("application/json")
      expect(text.body).toBe("plain words")
      expect(text.headers["content-type"]).toBe("text/plain")
      expect([...Buffer.from(bytes.body, "latin1")]).toEqual([1, 2, 3])
      expect(bytes.headers["content-type"]).toBe("application/octet-stream")
      expect(form.body).toBe("a=1&b=x+y")
      expect(form.headers["content-type"]).toBe("application/x-www-form-urlencoded")
      expect(multipart.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/)
      expect(multipart.body).toContain("name=\"field\"")
      expect(multipart.body).toContain("value")
      expect(stream.body).toBe("part one, part two")
      expect(stream.headers["content-type"]).toBe("text/plain")
      expect(stream.headers["content-length"]).toBe(String("part one, part two".length))
    }).pipe(Effect.scoped, Effect.provide(quiet)))

  it.live("E4: a stream body that fails is RequestError Encode and nothing is sent", () =>
    Effect.gen(function*() {
      const w = yield* world("127.0.20.3")
      const e = yield* Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        return yield* failure(client.execute(
          HttpClientRequest.post(`${origin(w)}/json/`).pipe(
            HttpClientRequest.bodyStream(Stream.fail("disk gone"))
          )
        ))
      }).pipe(Effect.provide(w.layer))
      expect(e._tag).toBe("RequestError")
      if (e._tag === "RequestError") expect(e.reason).toBe("Encode")
      expect(e.message).toContain("stream body failed")
      expect(w.server.received.length).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(quiet)))

  it.live("E4: PUT, PATCH, DELETE, HEAD and OPTIONS reach the server as themselves", () =>
    Effect.gen(function*() {
      const w = yield* world("127.0.20.4")
      const statuses = yield* Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        const url = `${origin(w)}/json/thing`
        return [
          (yield* client.put(url, { body: HttpBody.text("p") })).status,
          (yield* client.patch(url, { body: HttpBody.text("q") })).status,
          (yield* client.del(url)).status,
          (yield* client.head(url)).status,
          (yield* client.options(url)).status
        ]
      }).pipe(Effect.provide(w.layer))
      expect(statuses).toEqual([200, 200, 200, 200, 200])
      expect(w.server.received.map((r) => r.method)).toEqual(["PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
      expect(w.server.received.map((r) => r.body)).toEqual(["p", "q", "", "", ""])
    }).pipe(Effect.scoped, Effect.provide(quiet)))

  it.live("E4: a relative URL goes to the configured gateway; prependUrl works as usual", () =>
    Effect.gen(function*() {
      const w = yield* world("127.0.20.5")
      yield* Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        yield* client.get("/json/relative")
        const based = client.pipe(HttpClient.mapRequest(HttpClientRequest.prependUrl(`${origin(w)}/json`)))
        yield* based.get("/based")
      }).pipe(Effect.provide(w.layer))
      expect(w.server.received.map((r) => r.url)).toEqual(["/json/relative", "/json/based"])
    }).pipe(Effect.scoped, Effect.provide(quiet)))

  it.live("E4: another origin is refused before anything is sent: RequestError InvalidUrl naming the gateway", () =>
    Effect.gen(function*() {
      const w = yield* world("127.0.20.6")
      const errors = yield* Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        return yield* Effect.all([
          failure(client.get(`https://elsewhere.example/json/?pan=${PAN}`)),
          failure(client.get(`http://${HOST}:${w.server.port}/json/`)),
          failure(client.get(`https://${HOST}:${w.server.port + 1}/json/`)),
          failure(client.post(`https://127.0.20.6:${w.server.port}/json/`, { body: HttpBody.text(PAN) }))
        ])
      }).pipe(Effect.provide(w.layer))
      for (const e of errors) {
        expect(e._tag).toBe("RequestError")
        if (e._tag === "RequestError") expect(e.reason).toBe("InvalidUrl")
        expect(e.message).toContain(`https://${HOST}:${w.server.port}`)
        expect((e.cause as { readonly _tag: string })._tag).toBe("ForeignOrigin")
        // L1: neither the message, nor the printed error, nor its JSON shows the card number
        expect(e.message).not.toContain(PAN)
        expect(Cause.pretty(Cause.fail(e))).not.toContain(PAN)
        expect(JSON.stringify(e)).not.toContain(PAN)
        expect(Object.keys(JSON.parse(JSON.stringify(e)))).toEqual(["_tag", "reason", "message", "request", "cause"])
      }
      expect(errors[0].message).toContain("https://elsewhere.example")
      expect(w.server.received.length).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(quiet)))

  it.live(
    "R3/E4: under retryTransient({ times: 5 }) a server that reads the request and resets sees exactly one; the caller gets OutcomeUnknown",
    () =>
      Effect.gen(function*() {
        const w = yield* world("127.0.20.7")
        w.server.mode = "reset-after-request"
        const e = yield* Effect.gen(function*() {
          const client = (yield* HttpClient.HttpClient).pipe(HttpClient.retryTransient({ times: 5 }))
          return yield* failure(
            client.post(`${origin(w)}/json/`, { body: HttpBody.unsafeJson({ pan: PAN, amount: 100 }) })
          )
        }).pipe(Effect.provide(w.layer))
        expect(w.server.received.length).toBe(1)
        expect(e._tag).toBe("ResponseError")
        if (e._tag === "ResponseError") expect(e.reason).toBe("EmptyBody")
        expect(ConnectionHttpClient.isOutcomeUnknown(e)).toBe(true)
        const cause = ConnectionHttpClient.connectionError(e)
        expect(cause?._tag).toBe("OutcomeUnknown")
        if (cause?._tag === "OutcomeUnknown") {
          expect(cause.address).toBe("127.0.20.7")
          expect(cause.bytesWritten).toBeGreaterThan(0)
        }
        expect(e.message).toContain("Do not resend")
        expect(Cause.pretty(Cause.fail(e))).not.toContain(PAN)
        expect(JSON.stringify(e)).not.toContain(PAN)
        const json = JSON.parse(JSON.stringify(e)) as Record<string, unknown>
        expect(Object.keys(json)).toEqual(["_tag", "reason", "message", "request", "response", "cause"])
        expect(json.response).toEqual({ status: 0 })
        expect(json.message).toBe(e.message)
      }).pipe(Effect.scoped, Effect.provide(quiet))
  )

  it.live("R3/E4: retry with a transient filter, an unconditional retry, Effect.retry: still exactly one request", () =>
    Effect.gen(function*() {
      const w = yield* world("127.0.20.8")
      w.server.mode = "reset-after-request"
      const outcomes = yield* Effect.gen(function*() {
        const base = yield* HttpClient.HttpClient
        const url = `${origin(w)}/json/`
        const send = (client: HttpClient.HttpClient) => failure(client.post(url, { body: HttpBody.text("{}") }))
        const counts: Array<number> = []
        const errors: Array<HttpClientError.HttpClientError> = []
        // a hand-written "retry when the request failed" filter
        errors.push(yield* send(base.pipe(HttpClient.retry({ while: (e) => e._tag === "RequestError", times: 5 }))))
        counts.push(w.server.received.length)
        // every error retried, on a schedule
        errors.push(yield* send(base.pipe(HttpClient.retry(Schedule.recurs(5)))))
        counts.push(w.server.received.length)
        // retryTransient with a schedule and mode "both"
        errors.push(
          yield* send(base.pipe(HttpClient.retryTransient({ schedule: Schedule.recurs(5), mode: "both" })))
        )
        counts.push(w.server.received.length)
        // Effect.retry on the request effect itself
        errors.push(yield* Effect.flip(Effect.retry(base.post(url, { body: HttpBody.text("{}") }), { times: 5 })))
        counts.push(w.server.received.length)
        return { counts, errors }
      }).pipe(Effect.provide(w.layer))
      expect(outcomes.counts).toEqual([1, 2, 3, 4])
      expect(outcomes.errors.every(ConnectionHttpClient.isOutcomeUnknown)).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(quiet)))

  it.live("R3/E4: NotSent is RequestError Transport (retryTransient may try again: nothing was sent)", () =>
    Effect.gen(function*() {
      // DNS names an address where nothing listens: every connect is refused
      const w = yield* world("127.0.20.9", { dnsAddress: "127.0.20.10", settings: { retryTimeout: "300ms" } })
      const e = yield* Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        return yield* failure(client.post(`${origin(w)}/json/`, { body: HttpBody.text("{}") }))
      }).pipe(Effect.provide(w.layer))
      expect(e._tag).toBe("RequestError")
      if (e._tag === "RequestError") expect(e.reason).toBe("Transport")
      expect(ConnectionHttpClient.connectionError(e)?._tag).toBe("NotSent")
      expect(e.message).toContain("was not sent")
      expect(w.server.received.length).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(quiet)))

  it.live("S1/E4: a certificate the library refuses is RequestError InvalidUrl with Refused as cause, not retried", () =>
    Effect.gen(function*() {
      const w = yield* world("127.0.20.11", { leaf: "expired" })
      const e = yield* Effect.gen(function*() {
        const client = (yield* HttpClient.HttpClient).pipe(HttpClient.retryTransient({ times: 3 }))
        return yield* failure(client.get(`${origin(w)}/json/`))
      }).pipe(Effect.provide(w.layer))
      expect(e._tag).toBe("RequestError")
      if (e._tag === "RequestError") expect(e.reason).toBe("InvalidUrl")
      const cause = ConnectionHttpClient.connectionError(e)
      expect(cause?._tag).toBe("Refused")
      if (cause?._tag === "Refused") {
        expect(cause.reason).toBe("CertificateExpired")
        expect(cause.attempts).toBe(1)
      }
      expect(w.server.received.length).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(quiet)))

  it.live("E4: a 503 is a response; retryTransient in mode both retries it (nothing outcome-unknown about it)", () =>
    Effect.gen(function*() {
      const w = yield* world("127.0.20.12")
      w.server.mode = "status-503"
      const status = yield* Effect.gen(function*() {
        const client = (yield* HttpClient.HttpClient).pipe(
          HttpClient.retryTransient({ times: 2, mode: "both", schedule: Schedule.spaced("10 millis") })
        )
        return (yield* client.get(`${origin(w)}/json/`)).status
      }).pipe(Effect.provide(w.layer))
      expect(status).toBe(503)
      expect(w.server.received.length).toBe(3)
    }).pipe(Effect.scoped, Effect.provide(quiet)))

  it.live("E4/L1: a span per request as @effect/platform names it, trace headers sent, no card data or secret in any attribute", () =>
    Effect.gen(function*() {
      const w = yield* world("127.0.20.13")
      const { spans, tracer } = recordingTracer()
      yield* Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        yield* client.execute(
          HttpClientRequest.post(`${origin(w)}/json/pay`).pipe(
            HttpClientRequest.setUrlParams({ pan: PAN, ref: "R1" }),
            HttpClientRequest.setHeader("x-card", PAN2),
            HttpClientRequest.setHeader("x-merchant", "M1"),
            HttpClientRequest.basicAuth("merchant@example.com", "hunter2-secret"),
            HttpClientRequest.bodyUnsafeJson({ pan: PAN, securitycode: "123" })
          )
        )
        // with propagation switched off, no trace headers
        yield* client.pipe(HttpClient.withTracerPropagation(false)).get(`${origin(w)}/json/quiet`)
      }).pipe(Effect.provide(w.layer), Effect.withTracer(tracer))
      const http = spans.filter((s) => s.name.startsWith("http.client"))
      expect(http.map((s) => s.name)).toEqual(["http.client POST", "http.client GET"])
      const first = http[0].attributes
      expect(first.get("http.request.method")).toBe("POST")
      expect(first.get("http.response.status_code")).toBe(200)
      expect(first.get("http.request.header.x-merchant")).toBe("M1")
      expect(first.get("http.response.header.x-served-by")).toBe("loopback")
      expect(String(first.get("url.full"))).toContain("/json/pay")
      // the connection's own span sits under the client's
      const request = spans.find((s) => s.name === "stpp.request")
      expect(request?.parent).toBe(http[0].spanId)
      // L1: nothing sensitive in any attribute of any span
      const everything = JSON.stringify(spans.map((s) => [s.name, [...s.attributes.entries()]]))
      for (
        const secret of [
          PAN,
          PAN2,
          "hunter2-secret",
          Buffer.from("merchant@example.com:hunter2-secret").toString("base64")
        ]
      ) {
        expect(everything).not.toContain(secret)
      }
      // trace context reached the gateway for the first request only
      expect(w.server.received[0].headers["traceparent"]).toMatch(
        new RegExp(`^00-0af7651916cd43dd8448eb211c80319c-${http[0].spanId}-01$`)
      )
      expect(w.server.received[1].headers["traceparent"]).toBeUndefined()
      expect(w.server.received[1].headers["b3"]).toBeUndefined()
      // the request itself went whole: redaction is for what is shown, not what is sent
      expect(w.server.received[0].url).toContain(PAN)
      expect(w.server.received[0].headers["x-card"]).toBe(PAN2)
    }).pipe(Effect.scoped, Effect.provide(quiet)))

  it.live("E4: withTracerDisabledWhen and Effect's built-in tracer make no span", () =>
    Effect.gen(function*() {
      const w = yield* world("127.0.20.14")
      const { spans, tracer } = recordingTracer()
      yield* Effect.gen(function*() {
        const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerDisabledWhen(() => true))
        yield* client.get(`${origin(w)}/json/`)
      }).pipe(Effect.provide(w.layer), Effect.withTracer(tracer))
      expect(spans.filter((s) => s.name.startsWith("http.client"))).toEqual([])
      yield* Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        yield* client.get(`${origin(w)}/json/`)
      }).pipe(Effect.provide(w.layer))
      expect(w.server.received[1].headers["traceparent"]).toBeUndefined()
    }).pipe(Effect.scoped, Effect.provide(quiet)))

  it.live("E4: make gives a client over a service value, for code that holds several", () =>
    Effect.gen(function*() {
      const w = yield* world("127.0.20.15")
      const exit = yield* Effect.gen(function*() {
        const client = yield* ConnectionHttpClient.make
        const response = yield* client.get(`${origin(w)}/json/`)
        return yield* response.text
      }).pipe(Effect.provide(w.layer), Effect.exit)
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(w.server.received.length).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(quiet)))
})
