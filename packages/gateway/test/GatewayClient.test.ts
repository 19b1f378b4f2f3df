import { describe, expect, it } from "@effect/vitest"
import * as ConnectionConfig from "@stpp/connect/ConnectionConfig"
import * as ConnectionError from "@stpp/connect/ConnectionError"
import * as ConnectionService from "@stpp/connect/ConnectionService"
import * as TlsError from "@stpp/connect/TlsError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as GatewayServer from "../../simulator/src/GatewayServer.js"
import * as Simulator from "../../simulator/src/Simulator.js"
import * as GatewayClient from "../src/GatewayClient.js"
import * as GatewayError from "../src/GatewayError.js"

const VISA = "4111111111111111"
const DECLINE_CARD = "4000000000000002"
const PANS = [VISA, DECLINE_CARD]

const card = (pan: string) => ({
  pan: Redacted.make(pan),
  expirydate: Redacted.make("12/2030"),
  securitycode: Redacted.make("123")
})

const payment = (orderreference: string, pan = VISA): GatewayClient.AuthInput & { orderreference: string } => ({
  baseamount: "1050",
  currencyiso3a: "GBP",
  accounttypedescription: "ECOM",
  orderreference,
  ...card(pan)
})

const noCardData = (text: string) => {
  for (const pan of PANS) expect(text.includes(pan)).toBe(false)
  expect(text.includes("12/2030")).toBe(false)
}

// -----------------------------------------------------------------------------
// against a scripted connection: what goes on the wire, how answers are read
// -----------------------------------------------------------------------------

const encoder = new TextEncoder()

const scripted = (
  answer: (request: ConnectionService.GatewayRequest, body: unknown) => Effect.Effect<
    { status?: number; json?: unknown; text?: string },
    ConnectionError.RequestError
  >
) => {
  const calls: Array<ConnectionService.GatewayRequest> = []
  const connection = Layer.succeed(ConnectionService.ConnectionService, {
    endpoint: { host: "webservices.securetrading.test", port: 443 },
    request: (request) => {
      calls.push(request)
      const body = JSON.parse(String(request.body))
      return Effect.map(answer(request, body), (r) => ({
        status: r.status ?? 200,
        headers: { "content-type": "application/json" },
        body: encoder.encode(r.text ?? JSON.stringify(r.json)),
        address: "127.0.0.9",
        attempts: 1,
        reused: false,
        elapsedMillis: 5
      }))
    }
  })
  const client = GatewayClient.layer({
    username: "ws@example.test",
    password: Redacted.make("s3cret-pw"),
    sitereference: "test_site1"
  }).pipe(Layer.provide(connection))
  return { calls, client }
}

const echo = (body: unknown, reference: string, items: Array<unknown>) => ({
  json: { requestreference: reference, version: "1.00", response: items, secrand: "x" },
  body
})

describe("GatewayClient (scripted connection)", () => {
  it.effect("G3: sends the envelope with the headers, Basic auth and a fresh A+8 reference in header and every item; card fields only in the body", () => {
    const { calls, client } = scripted((req, body) =>
      Effect.succeed(
        echo(body, req.reference!, [{
          errorcode: "0",
          errormessage: "Ok",
          transactionreference: "9-9-1",
          requesttypedescription: "AUTH"
        }])
      )
    )
    return Effect.gen(function*() {
      const gateway = yield* GatewayClient.GatewayClient
      const outcome = yield* gateway.auth(payment("o-1"))
      expect(outcome._tag).toBe("Authorised")
      expect(outcome.transactionreference).toBe("9-9-1")
      const [call] = calls
      expect(call.reference).toMatch(/^A[a-z0-9]{8}$/)
      expect(call.headers).toEqual({
        "content-type": "application/json;charset=utf-8",
        accept: "application/json",
        requestreference: call.reference,
        versioninfo: GatewayClient.VERSION_INFO
      })
      expect(GatewayClient.VERSION_INFO).toMatch(/^Node::\d+\.\d+\.\d+::stpp-connect_0\.1\.0::/)
      expect(call.auth?.username).toBe("ws@example.test")
      expect(Redacted.value(call.auth!.password)).toBe("s3cret-pw")
      const body = JSON.parse(String(call.body))
      expect(body.alias).toBe("ws@example.test")
      expect(body.version).toBe("1.00")
      expect(body.request[0]).toMatchObject({
        requesttypedescriptions: ["AUTH"],
        sitereference: "test_site1",
        pan: VISA,
        securitycode: "123",
        requestreference: call.reference
      })
      expect(body.libraryversion).toBe("stpp-connect_0.1.0")
      noCardData(JSON.stringify(outcome))
      noCardData(String(outcome))
    }).pipe(Effect.provide(client))
  })

  it.effect("a response with another requestreference is a ReferenceMismatch (and counts as outcome unknown)", () => {
    const { client } = scripted((_, body) => Effect.succeed(echo(body, "Azzzzzzzz", [{ errorcode: "0" }])))
    return Effect.gen(function*() {
      const gateway = yield* GatewayClient.GatewayClient
      const error = yield* Effect.flip(gateway.auth(payment("o-2")))
      expect(error._tag).toBe("ReferenceMismatch")
      if (error._tag !== "ReferenceMismatch") return
      expect(error.received).toBe("Azzzzzzzz")
      expect(error.message).toContain("look the transaction up")
    }).pipe(Effect.provide(client))
  })

  it.effect("errorcodes become typed errors; 70000 is a Declined result", () => {
    const items: Array<unknown> = [
      { errorcode: "70000", errormessage: "Decline", acquirerresponsecode: "05", transactionreference: "1-9-2" },
      { errorcode: "30000", errormessage: "Invalid field", errordata: ["pan"], requesttypedescription: "AUTH" },
      { errorcode: "60022", errormessage: "Unauthenticated" },
      { errorcode: "50003", errormessage: "Communication error" },
      { errorcode: "60020", errormessage: "Issuer unavailable" },
      { errorcode: "12345", errormessage: `card ${VISA} is odd` }
    ]
    let i = 0
    const { client } = scripted((req, body) => Effect.succeed(echo(body, req.reference!, [items[i++]])))
    return Effect.gen(function*() {
      const gateway = yield* GatewayClient.GatewayClient
      const declined = yield* gateway.auth(payment("o-3", DECLINE_CARD))
      expect(declined._tag).toBe("Declined")
      const tags: Array<string> = []
      const messages: Array<string> = []
      for (let k = 1; k < items.length; k++) {
        const e = yield* Effect.flip(gateway.auth(payment(`o-${k}`)))
        tags.push(e._tag)
        messages.push(e.message)
      }
      expect(tags).toEqual([
        "InvalidField",
        "Unauthenticated",
        "UpstreamUnavailable",
        "UpstreamUnavailable",
        "GatewayFailure"
      ])
      expect(messages[0]).toContain(`"pan"`)
      expect(messages[1]).toContain("given in code")
      noCardData(messages.join("\n"))
    }).pipe(Effect.provide(client))
  })

  it.effect("G1: each errorcode family is its typed error with its documented meaning", () => {
    const items: Array<Record<string, unknown>> = [
      { errorcode: "60018", errormessage: "Invalid requesttype", requesttypedescription: "ERROR" },
      {
        errorcode: "60019",
        errormessage: "No searchable filter specified",
        requesttypedescription: "TRANSACTIONUPDATE"
      },
      { errorcode: "60017", errormessage: "Transaction not updatable" },
      {
        errorcode: "10205",
        errormessage: "Malformed JSON",
        errordata: ["invalid json"],
        requesttypedescription: "ERROR"
      },
      { errorcode: "20004", errormessage: "Missing parent" },
      { errorcode: "20005", errormessage: "Refund requires settled parent or parent thats due to settle today" },
      { errorcode: "20007", errormessage: "Refund amount too great" },
      { errorcode: "20015", errormessage: "Cannot override currency in child transaction" },
      { errorcode: "60034", errormessage: "Manual investigation required" },
      { errorcode: "99999", errormessage: "Unknown error" },
      { errorcode: "71000", errormessage: "Soft Decline" }
    ]
    let i = 0
    const { client } = scripted((req, body) => Effect.succeed(echo(body, req.reference!, [items[i++]])))
    return Effect.gen(function*() {
      const gateway = yield* GatewayClient.GatewayClient
      const seen: Array<string> = []
      for (let k = 0; k < items.length - 1; k++) {
        const e = yield* Effect.flip(gateway.refund({ parenttransactionreference: "1-9-1" }))
        seen.push(e._tag === "RequestRejected" ? `${e._tag}:${e.reason}` : e._tag)
        if (e._tag === "FinalStatusUnknown") {
          expect(GatewayError.isOutcomeUnknown(e)).toBe(true)
          expect(e.message).toContain("contact the gateway's support")
        }
      }
      expect(seen).toEqual([
        "RequestRejected:invalid-request-type",
        "RequestRejected:no-searchable-filter",
        "RequestRejected:not-updatable",
        "MalformedRequest",
        "RequestRejected:missing-parent",
        "RequestRejected:refund-needs-settled-parent",
        "RequestRejected:refund-amount-too-great",
        "RequestRejected:currency-override",
        "FinalStatusUnknown",
        "FinalStatusUnknown"
      ])
      const soft = yield* gateway.auth(payment("o-soft"))
      expect(soft._tag).toBe("SoftDeclined")
    }).pipe(Effect.provide(client))
  })

  it.effect("G1: 60010 on AUTH is outcome unknown; authOrLookup looks it up and never sends a second AUTH", () => {
    const { calls, client } = scripted((req, body) => {
      const item = (body as { request: Array<Record<string, unknown>> }).request[0]
      const type = (item.requesttypedescriptions as Array<string>)[0]
      const order = (item.filter as { orderreference?: Array<{ value: string }> } | undefined)?.orderreference?.[0]
        .value
      if (type === "AUTH") {
        return Effect.succeed(echo(body, req.reference!, [{ errorcode: "60010", errormessage: "Bank System Error" }]))
      }
      const record = order === "o-found"
        ? { requesttypedescription: "AUTH", errorcode: "0", transactionreference: "1-9-7", orderreference: order }
        : { requesttypedescription: "AUTH", errorcode: "60010", transactionreference: "1-9-8", orderreference: order }
      return Effect.succeed(echo(body, req.reference!, [{ errorcode: "0", found: "1", records: [record] }]))
    })
    return Effect.gen(function*() {
      const gateway = yield* GatewayClient.GatewayClient
      const plain = yield* Effect.flip(gateway.auth(payment("o-plain")))
      expect(plain._tag).toBe("FinalStatusUnknown")
      expect(GatewayError.isOutcomeUnknown(plain)).toBe(true)
      if (plain._tag !== "FinalStatusUnknown") return
      expect(plain.code).toBe("60010")
      expect(plain.reference).toBe(calls[0].reference)

      const found = yield* gateway.authOrLookup(payment("o-found"))
      expect(found._tag).toBe("Authorised")
      expect(found.recovered).toBe(true)

      const still = yield* Effect.flip(gateway.authOrLookup(payment("o-still")))
      expect(still._tag).toBe("ContactSupport")
      if (still._tag !== "ContactSupport") return
      const authRef = calls[calls.length - 2].reference
      expect(still.reference).toBe(authRef)
      expect(still.code).toBe("60010")
      expect(still.message).toContain(`contact the gateway's support with request reference ${authRef}`)
      const types = calls.map((c) => JSON.parse(String(c.body)).request[0].requesttypedescriptions[0])
      expect(types).toEqual(["AUTH", "AUTH", "TRANSACTIONQUERY", "AUTH", "TRANSACTIONQUERY"])
    }).pipe(Effect.provide(client))
  })

  it.effect("G1 / issue 17: InvalidField names only a documented field; errordata holding card data is never echoed", () => {
    const items = [
      { errorcode: "30000", errormessage: "Invalid field", errordata: [VISA] },
      { errorcode: "30000", errormessage: "Invalid field", errordata: ["expirydate", "12/2030"] },
      { errorcode: "30000", errormessage: "Invalid field", errordata: ["eyJhbGciOiJIUzI1NiJ9.eyJ0IjoxfQ.sig"] }
    ]
    let i = 0
    const { client } = scripted((req, body) => Effect.succeed(echo(body, req.reference!, [items[i++]])))
    return Effect.gen(function*() {
      const gateway = yield* GatewayClient.GatewayClient
      const errors = [
        yield* Effect.flip(gateway.auth(payment("f-1"))),
        yield* Effect.flip(gateway.auth(payment("f-2"))),
        yield* Effect.flip(gateway.auth(payment("f-3")))
      ]
      expect(errors.map((e) => e._tag)).toEqual(["InvalidField", "InvalidField", "InvalidField"])
      const fields = errors.map((e) => e._tag === "InvalidField" ? e.field : "")
      expect(fields).toEqual(["unknown", "expirydate", "unknown"])
      expect(errors[0].message).toContain("a field")
      const all = errors.map((e) => `${e.message} ${JSON.stringify(e)}`).join("\n")
      noCardData(all)
      expect(all.includes("eyJhbGciOiJIUzI1NiJ9")).toBe(false)
    }).pipe(Effect.provide(client))
  })

  it.effect("G1: an unknown code keeps its code and message, masked before it is cut", () => {
    // the card number straddles the 200-character cut: cutting first would leave 12 digits unmasked
    const text = "x".repeat(190) + VISA + " tail"
    const { client } = scripted((req, body) =>
      Effect.succeed(echo(body, req.reference!, [{ errorcode: "12345", errormessage: text }]))
    )
    return Effect.gen(function*() {
      const gateway = yield* GatewayClient.GatewayClient
      const e = yield* Effect.flip(gateway.auth(payment("u-1")))
      expect(e._tag).toBe("GatewayFailure")
      if (e._tag !== "GatewayFailure") return
      expect(e.code).toBe("12345")
      expect(e.errormessage.length).toBeLessThanOrEqual(200)
      expect(e.errormessage).not.toMatch(/\d{7,}/)
      noCardData(e.message)
    }).pipe(Effect.provide(client))
  })

  it.effect("G2: HTTP 401 is Unauthenticated (nothing processed), naming where the credentials came from", () => {
    const page = "<html><head><title>401 Authorization Required</title></head></html>"
    const { client } = scripted(() => Effect.succeed({ status: 401, text: page }))
    const fromConfig = GatewayClient.layerConfig.pipe(
      Layer.provide(Layer.succeed(ConnectionService.ConnectionService, {
        endpoint: { host: "h", port: 443 },
        request: () =>
          Effect.succeed({
            status: 401,
            headers: {},
            body: encoder.encode(page),
            address: "127.0.0.9",
            attempts: 1,
            reused: false,
            elapsedMillis: 1
          })
      })),
      Layer.provide(Layer.setConfigProvider(
        ConfigProvider.fromMap(new Map([["STPP_USERNAME", "ws@cfg.test"], ["STPP_PASSWORD", "pw-from-env"]]))
      ))
    )
    return Effect.gen(function*() {
      const inCode = yield* Effect.flip(
        Effect.flatMap(GatewayClient.GatewayClient, (g) => g.transactionQuery({ orderreference: "o" })).pipe(
          Effect.provide(client)
        )
      )
      expect(inCode._tag).toBe("Unauthenticated")
      expect(GatewayError.isOutcomeUnknown(inCode)).toBe(false)
      expect(inCode.message).toContain("HTTP 401")
      expect(inCode.message).toContain("given in code")
      const inConfig = yield* Effect.flip(
        Effect.flatMap(GatewayClient.GatewayClient, (g) => g.auth({ ...payment("o"), sitereference: "s" })).pipe(
          Effect.provide(fromConfig)
        )
      )
      expect(inConfig._tag).toBe("Unauthenticated")
      expect(inConfig.message).toContain("STPP_USERNAME and STPP_PASSWORD")
      expect(inConfig.message.includes("pw-from-env")).toBe(false)
    })
  })

  it.effect("G3: an item echoing another requestreference is a ReferenceMismatch", () => {
    const { client } = scripted((req, body) =>
      Effect.succeed(echo(body, req.reference!, [{ errorcode: "0", requestreference: "Aother000" }]))
    )
    return Effect.gen(function*() {
      const gateway = yield* GatewayClient.GatewayClient
      const e = yield* Effect.flip(gateway.auth(payment("r-1")))
      expect(e._tag).toBe("ReferenceMismatch")
    }).pipe(Effect.provide(client))
  })

  it.effect("G5: TRANSACTIONQUERY takes plain values and needs a searchable filter; TRANSACTIONUPDATE writes settlebaseamount", () => {
    const { calls, client } = scripted((req, body) =>
      Effect.succeed(echo(body, req.reference!, [{ errorcode: "0", found: "0", records: [] }]))
    )
    return Effect.gen(function*() {
      const gateway = yield* GatewayClient.GatewayClient
      const none = yield* Effect.flip(gateway.transactionQuery({ sitereference: "test_site1" }))
      expect(none._tag).toBe("InvalidRequest")
      expect(none.message).toContain("at least one of")
      expect(calls.length).toBe(0)
      yield* gateway.transactionQuery({ orderreference: "o-1", starttimestamp: new Date(Date.UTC(2026, 0, 1)) })
      yield* gateway.transactionUpdate({
        filter: { transactionreference: "1-9-1" },
        updates: { settlebaseamount: "500" }
      })
      const [query, update] = calls.map((c) => JSON.parse(String(c.body)).request[0])
      expect(query.filter).toEqual({
        orderreference: [{ value: "o-1" }],
        starttimestamp: [{ value: "2026-01-01 00:00:00" }],
        sitereference: [{ value: "test_site1" }]
      })
      expect(update.updates).toEqual({ settlebaseamount: "500" })
    }).pipe(Effect.provide(client))
  })

  it.effect("G5: a chain answers one typed result per processed type; an enrolled THREEDQUERY+AUTH answers the THREEDQUERY alone", () => {
    const answers: Array<Array<unknown>> = [
      [
        { requesttypedescription: "ACCOUNTCHECK", errorcode: "0", transactionreference: "1-9-1" },
        {
          requesttypedescription: "AUTH",
          errorcode: "0",
          transactionreference: "1-9-2",
          parenttransactionreference: "1-9-1"
        }
      ],
      [{ requesttypedescription: "THREEDQUERY", errorcode: "0", enrolled: "Y", acsurl: "https://acs.test/", md: "m" }],
      [
        { requesttypedescription: "AUTH", errorcode: "0", transactionreference: "1-9-3" },
        {
          requesttypedescription: "SUBSCRIPTION",
          errorcode: "0",
          transactionreference: "1-9-4",
          subscriptionnumber: "1"
        }
      ]
    ]
    let i = 0
    const { calls, client } = scripted((req, body) => Effect.succeed(echo(body, req.reference!, answers[i++])))
    return Effect.gen(function*() {
      const gateway = yield* GatewayClient.GatewayClient
      const ac = yield* gateway.chain(["ACCOUNTCHECK", "AUTH"], payment("c-1"))
      expect(ac.accountCheck?._tag).toBe("Authorised")
      expect(ac.auth?._tag).toBe("Authorised")
      const td = yield* gateway.chain(["THREEDQUERY", "AUTH"], { ...payment("c-2"), termurl: "https://shop.test/3ds" })
      expect(td.threeDQuery?.enrolled).toBe("Y")
      expect(td.auth).toBeUndefined()
      const sub = yield* gateway.chain(["AUTH", "SUBSCRIPTION"], {
        ...payment("c-3"),
        subscriptiontype: "RECURRING",
        subscriptionunit: "MONTH",
        subscriptionfrequency: "1",
        subscriptionfinalnumber: "12"
      })
      expect(sub.subscription?._tag).toBe("Subscribed")
      expect(JSON.parse(String(calls[2].body)).request[0].requesttypedescriptions).toEqual(["AUTH", "SUBSCRIPTION"])
    }).pipe(Effect.provide(client))
  })

  it.effect("HTTP status errors and malformed responses", () => {
    const answers = [{ status: 502, text: "<html>bad gateway</html>" }, { text: "<html>" }, { json: { nope: 1 } }]
    let i = 0
    const { client } = scripted(() => Effect.succeed(answers[i++]))
    return Effect.gen(function*() {
      const gateway = yield* GatewayClient.GatewayClient
      const errors = [
        yield* Effect.flip(gateway.transactionQuery({ orderreference: "o-q" })),
        yield* Effect.flip(gateway.transactionQuery({ orderreference: "o-q" })),
        yield* Effect.flip(gateway.transactionQuery({ orderreference: "o-q" }))
      ]
      expect(errors.map((e) => e._tag)).toEqual(["HttpStatusError", "MalformedResponse", "MalformedResponse"])
      expect(errors[1].message).toContain("not-json")
      expect(errors[2].message).toContain("not-an-envelope")
    }).pipe(Effect.provide(client))
  })

  it.effect("the connection's errors pass through unchanged", () => {
    const notSent = new ConnectionError.NotSent({
      host: "h",
      attempts: 3,
      elapsedMillis: 10,
      cause: new TlsError.ConnectRefused({ host: "h", address: "127.0.0.9", port: 443 }),
      address: "127.0.0.9",
      reference: undefined
    })
    const { client } = scripted(() => Effect.fail(notSent))
    return Effect.gen(function*() {
      const gateway = yield* GatewayClient.GatewayClient
      const error = yield* Effect.flip(gateway.auth(payment("o")))
      expect(error._tag).toBe("NotSent")
      expect(Equal.equals(error, notSent)).toBe(true)
    }).pipe(Effect.provide(client))
  })

  it.effect("credentials come from STPP_USERNAME, STPP_PASSWORD (redacted) and STPP_SITE_REFERENCE", () =>
    Effect.gen(function*() {
      const credentials = yield* GatewayClient.credentialsConfig.pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(
          new Map([["STPP_USERNAME", "u"], ["STPP_PASSWORD", "p"], ["STPP_SITE_REFERENCE", "site"]])
        ))
      )
      expect(credentials.username).toBe("u")
      expect(Redacted.isRedacted(credentials.password)).toBe(true)
      expect(String(credentials.password).includes("p")).toBe(false)
      expect(credentials.sitereference).toBe("site")
      const missing = yield* Effect.flip(GatewayClient.credentialsConfig.pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["STPP_USERNAME", "u"]])))
      ))
      expect(String(missing)).toContain("STPP_PASSWORD")
    }))
})

// -----------------------------------------------------------------------------
// against the simulator over real sockets, through the live ConnectionService
// -----------------------------------------------------------------------------

/** Everything written to stdout/stderr while `effect` runs (the redacting logger writes there). */
const captureOutput = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const out: Array<string> = []
      const stdout = process.stdout.write.bind(process.stdout)
      const stderr = process.stderr.write.bind(process.stderr)
      const capture = (original: typeof stdout) => (chunk: unknown, ...rest: Array<unknown>) => {
        out.push(String(chunk))
        return (original as (...args: Array<unknown>) => boolean)(chunk, ...rest)
      }
      process.stdout.write = capture(stdout) as typeof process.stdout.write
      process.stderr.write = capture(stderr) as typeof process.stderr.write
      return { out, stdout, stderr }
    }),
    ({ out }) => Effect.map(effect, (a) => [a, out.join("")] as const),
    ({ stderr, stdout }) =>
      Effect.sync(() => {
        process.stdout.write = stdout
        process.stderr.write = stderr
      })
  )

const live = (password?: string) =>
  Effect.gen(function*() {
    const sim = yield* Simulator.start({ addresses: ["127.0.0.31", "127.0.0.32"] })
    const connection = ConnectionService.layerWithoutConfig.pipe(
      Layer.provide(
        ConnectionConfig.layer(Simulator.settings(sim, { maxRetries: 3, maxSockets: 2, logLevel: "debug" }))
      )
    )
    const layer = GatewayClient.layer({
      username: sim.username,
      password: Redacted.make(password ?? sim.password),
      sitereference: sim.sitereference
    }).pipe(Layer.provide(connection))
    const context = yield* Layer.build(layer)
    const gateway = yield* Effect.provide(GatewayClient.GatewayClient, context)
    return { sim, gateway, context }
  })

const authsFor = (sim: Simulator.Simulator, orderreference: string) =>
  sim.transactions().filter((t) => t.requesttypedescription === "AUTH" && t.orderreference === orderreference)

describe("GatewayClient against the simulator (real sockets, live ConnectionService)", () => {
  it.scopedLive("a successful AUTH", () =>
    Effect.gen(function*() {
      const { gateway, sim } = yield* live()
      const [outcome, output] = yield* captureOutput(gateway.auth(payment("live-1")))
      expect(outcome._tag).toBe("Authorised")
      expect(outcome.recovered).toBe(false)
      if (outcome._tag !== "Authorised") return
      expect(outcome.maskedpan).toBe("411111######1111")
      expect(outcome.transactionreference).toMatch(/^3[12]-9-\d+$/)
      expect(authsFor(sim, "live-1").length).toBe(1)
      expect(sim.requestsReceived()).toBe(1)
      noCardData(output)
      expect(output.includes(sim.password)).toBe(false)
    }))

  it.scopedLive("a decline is a Declined result", () =>
    Effect.gen(function*() {
      const { gateway, sim } = yield* live()
      const outcome = yield* gateway.auth(payment("live-2", DECLINE_CARD))
      expect(outcome._tag).toBe("Declined")
      expect(authsFor(sim, "live-2")[0].errorcode).toBe("70000")
      noCardData(JSON.stringify(sim.transactions()))
    }))

  it.scopedLive("bad credentials are Unauthenticated, naming the user but not the password", () =>
    Effect.gen(function*() {
      const { gateway, sim } = yield* live("wrong-password")
      const error = yield* Effect.flip(gateway.auth(payment("live-3")))
      expect(error._tag).toBe("Unauthenticated")
      expect(error.message).toContain(sim.username)
      expect(error.message.includes("wrong-password")).toBe(false)
      expect(sim.transactions()).toEqual([])
    }))

  it.scopedLive("a reference mismatch is a typed error", () =>
    Effect.gen(function*() {
      const { gateway, sim } = yield* live()
      for (const a of sim.addresses) yield* sim.setFault(a, GatewayServer.Fault.WrongReference())
      const error = yield* Effect.flip(gateway.transactionQuery({ orderreference: "o-q" }))
      expect(error._tag).toBe("ReferenceMismatch")
    }))

  it.scopedLive("R3: an outcome-unknown payment is found by the lookup and not charged twice", () =>
    Effect.gen(function*() {
      const { gateway, sim } = yield* live()
      // every address resets the connection after reading (and recording) an AUTH; queries are answered
      for (const a of sim.addresses) {
        yield* sim.setFault(a, GatewayServer.Fault.ResetAfterRequest({ requestTypes: ["AUTH"] }))
      }
      const plain = yield* Effect.flip(gateway.auth(payment("live-4")))
      expect(plain._tag).toBe("OutcomeUnknown")
      noCardData(plain.message)
      expect(authsFor(sim, "live-4").length).toBe(1)

      const [outcome, output] = yield* captureOutput(gateway.authOrLookup(payment("live-5")))
      expect(outcome._tag).toBe("Authorised")
      expect(outcome.recovered).toBe(true)
      expect(authsFor(sim, "live-5").length).toBe(1)
      const log = sim.gateway.requestLog()
      expect(log.filter((r) => r.requestTypes.includes("AUTH")).length).toBe(2) // live-4 and live-5, once each
      expect(log.filter((r) => r.requestTypes.includes("TRANSACTIONQUERY")).length).toBe(1)
      noCardData(output)
    }))

  it.scopedLive("G1: a 60010 answer to a processed AUTH: authOrLookup finds the payment by lookup, one charge", () =>
    Effect.gen(function*() {
      const { gateway, sim } = yield* live()
      // The AUTH is processed and recorded, but its answer says 60010 (the bank's answer was lost).
      for (const a of sim.addresses) {
        yield* sim.setFault(a, GatewayServer.Fault.ErrorCode({ code: "60010", process: true, requestTypes: ["AUTH"] }))
      }
      const plain = yield* Effect.flip(gateway.auth(payment("live-60010-a")))
      expect(plain._tag).toBe("FinalStatusUnknown")
      expect(GatewayError.isOutcomeUnknown(plain)).toBe(true)
      if (plain._tag !== "FinalStatusUnknown") return
      expect(plain.code).toBe("60010")
      expect(plain.reference).toMatch(/^A[a-z0-9]{8}$/)
      const [outcome, output] = yield* captureOutput(gateway.authOrLookup(payment("live-60010-b")))
      expect(outcome._tag).toBe("Authorised")
      expect(outcome.recovered).toBe(true)
      expect(authsFor(sim, "live-60010-b").length).toBe(1)
      const log = sim.gateway.requestLog()
      expect(log.filter((r) => r.requestTypes.includes("AUTH")).length).toBe(2) // one per payment, never resent
      expect(log.filter((r) => r.requestTypes.includes("TRANSACTIONQUERY")).length).toBe(1)
      noCardData(output)
    }))

  it.scopedLive("G1: the test bank's 60010 amount: the lookup still shows 60010, so the caller is told to contact support", () =>
    Effect.gen(function*() {
      const { gateway, sim } = yield* live()
      const error = yield* Effect.flip(gateway.authOrLookup({ ...payment("live-60010-c"), baseamount: "60010" }))
      expect(error._tag).toBe("ContactSupport")
      if (error._tag !== "ContactSupport") return
      expect(error.code).toBe("60010")
      expect(error.reference).toMatch(/^A[a-z0-9]{8}$/)
      expect(error.message).toContain(`contact the gateway's support with request reference ${error.reference}`)
      expect(authsFor(sim, "live-60010-c").length).toBe(1)
      expect(sim.gateway.requestLog().filter((r) => r.requestTypes.includes("AUTH")).length).toBe(1)
      noCardData(error.message)
    }))

  it.scopedLive("authOrLookup: an unknown outcome the lookup cannot find is PaymentNotFound; a failed lookup is LookupFailed", () =>
    Effect.gen(function*() {
      const { gateway, sim } = yield* live()
      // a 502 to the AUTH (not processed), queries answered: nothing to find
      for (const a of sim.addresses) {
        yield* sim.setFault(a, GatewayServer.Fault.HttpStatus({ status: 502, requestTypes: ["AUTH"] }))
      }
      const notFound = yield* Effect.flip(gateway.authOrLookup(payment("live-6")))
      expect(notFound._tag).toBe("PaymentNotFound")
      expect(notFound.message).toContain("live-6")
      // a 502 to everything: the lookup fails too, and nothing is resent
      for (const a of sim.addresses) yield* sim.setFault(a, GatewayServer.Fault.HttpStatus({ status: 502 }))
      const failed = yield* Effect.flip(gateway.authOrLookup(payment("live-7")))
      expect(failed._tag).toBe("LookupFailed")
      expect(failed.message).toContain("Do not resend")
      // an upstream errorcode is an answer: no lookup
      for (const a of sim.addresses) yield* sim.setFault(a, GatewayServer.Fault.ErrorCode({ code: "50003" }))
      const upstream = yield* Effect.flip(gateway.authOrLookup(payment("live-8")))
      expect(upstream._tag).toBe("UpstreamUnavailable")
      const log = sim.gateway.requestLog()
      expect(log.filter((r) => r.requestTypes.includes("AUTH")).length).toBe(3) // one per payment, never resent
      expect(log.filter((r) => r.requestTypes.includes("TRANSACTIONQUERY")).length).toBe(2)
      expect(sim.transactions()).toEqual([])
    }))
})
