/**
 * Conformance: the gateway's documented answers, per request type and per errorcode family, held
 * once here and run against both sides, so the client and the simulator cannot drift apart:
 * - the client, on a scripted connection answering with the documented item, gives the typed
 *   result or error the documentation means;
 * - the simulator, over real sockets, answers the same request with an item of the documented
 *   shape (the documented fields, the documented errorcode), and the client reads that answer as
 *   the same typed result or error.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ConnectionConfig from "@stpp/connect/ConnectionConfig"
import * as ConnectionService from "@stpp/connect/ConnectionService"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as GatewayServer from "../../simulator/src/GatewayServer.js"
import * as Simulator from "../../simulator/src/Simulator.js"
import * as GatewayClient from "../src/GatewayClient.js"

const VISA = "4111111111111111"
const ENROLLED = "4000000000001091"

type Item = Readonly<Record<string, unknown>>
type Gateway = GatewayClient.GatewayClient["Type"]

const card = (pan = VISA) => ({
  pan: Redacted.make(pan),
  expirydate: Redacted.make("12/2030"),
  securitycode: Redacted.make("123")
})

const payment = (orderreference: string, baseamount = "1050", pan = VISA) => ({
  baseamount,
  currencyiso3a: "GBP",
  accounttypedescription: "ECOM",
  orderreference,
  ...card(pan)
})

/** What a call came to, in one comparable word: a result's or an error's tag, with its reason or field. */
const label = (u: unknown): string => {
  if (typeof u !== "object" || u === null) return String(u)
  const o = u as Record<string, unknown>
  if (o._tag === "RequestRejected") return `RequestRejected:${String(o.reason)}`
  if (o._tag === "InvalidField") return `InvalidField:${String(o.field)}`
  if (o._tag === "ThreeDQueried") return `ThreeDQueried:${String(o.enrolled)}`
  if (o._tag === "RiskDecision") return `RiskDecision:${String(o.shieldstatus)}`
  if (typeof o._tag === "string") return o._tag
  if ("found" in o) return `found:${String(o.found)}`
  if ("items" in o) {
    const parts = ["accountCheck", "threeDQuery", "riskDec", "auth", "subscription"]
      .filter((k) => o[k] !== undefined)
      .map((k) => `${k}=${label(o[k])}`)
    return `chain(${parts.join(",")})`
  }
  return typeof o.errorcode === "string" ? `answer:${o.errorcode}` : "?"
}

const settle = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.either(effect), (e) => label(e._tag === "Right" ? e.right : e.left))

// -----------------------------------------------------------------------------
// the documented answers
// -----------------------------------------------------------------------------

const STAMP = "2026-12-01 10:00:00"

interface Case {
  readonly name: string
  /** The request type (or chain) the documented answer is to. */
  readonly type: string
  /** The documented response items (the fields every answer of this kind carries). */
  readonly documented: ReadonlyArray<Item>
  /** Steers the simulator into this answer (a fault), when its test bank alone does not. */
  readonly fault?: GatewayServer.Fault
  /** The call, with what it needs set up first (a parent AUTH, ...). */
  readonly call: (gateway: Gateway, order: string) => Effect.Effect<unknown, unknown>
  /** What the client makes of it. */
  readonly expected: string
}

const authItem = (errorcode: string, errormessage: string, extra: Item = {}): Item => ({
  requesttypedescription: "AUTH",
  transactionreference: "1-9-1",
  errorcode,
  errormessage,
  errordata: [],
  baseamount: "1050",
  currencyiso3a: "GBP",
  accounttypedescription: "ECOM",
  maskedpan: "411111######1111",
  transactionstartedtimestamp: STAMP,
  ...extra
})

const parentOf = (gateway: Gateway, order: string) =>
  Effect.flatMap(gateway.auth(payment(`${order}-parent`)), (o) => Effect.succeed(o.transactionreference ?? "none"))

const CASES: ReadonlyArray<Case> = [
  {
    name: "G1: AUTH errorcode 0 is Authorised",
    type: "AUTH",
    documented: [
      authItem("0", "Ok", { authcode: "TEST01", acquirerresponsecode: "00", settlestatus: "0", livestatus: "0" })
    ],
    call: (g, order) => g.auth(payment(order)),
    expected: "Authorised"
  },
  {
    name: "G1: AUTH errorcode 70000 is Declined (an answer)",
    type: "AUTH",
    documented: [authItem("70000", "Decline", { acquirerresponsecode: "05", settlestatus: "3" })],
    call: (g, order) => g.auth(payment(order, "70000")),
    expected: "Declined"
  },
  {
    name: "G1: AUTH errorcode 71000 is SoftDeclined, distinct from a decline",
    type: "AUTH",
    documented: [authItem("71000", "Soft Decline")],
    fault: GatewayServer.Fault.ErrorCode({ code: "71000", process: true, requestTypes: ["AUTH"] }),
    call: (g, order) => g.auth(payment(order)),
    expected: "SoftDeclined"
  },
  ...(["60010", "99999", "60034"] as const).map((code): Case => ({
    name: `G1: AUTH errorcode ${code} is FinalStatusUnknown (outcome unknown)`,
    type: "AUTH",
    documented: [authItem(code, code === "60010" ? "Bank System Error" : "Unknown error")],
    // 60010 is the test bank's amount; the other two are steered.
    ...(code === "60010"
      ? {}
      : { fault: GatewayServer.Fault.ErrorCode({ code, process: true, requestTypes: ["AUTH"] }) }),
    call: (g, order) => g.auth(payment(order, code === "60010" ? "60010" : "1050")),
    expected: "FinalStatusUnknown"
  })),
  {
    name: "G1: errorcode 30000 is InvalidField naming the documented field",
    type: "AUTH",
    documented: [{
      requesttypedescription: "AUTH",
      errorcode: "30000",
      errormessage: "Invalid field",
      errordata: ["expirydate"],
      transactionstartedtimestamp: STAMP
    }],
    call: (g, order) => g.auth({ ...payment(order), expirydate: Redacted.make("13/2030") }),
    expected: "InvalidField:expirydate"
  },
  {
    name: "G5: ACCOUNTCHECK errorcode 0 is Authorised",
    type: "ACCOUNTCHECK",
    documented: [{ ...authItem("0", "Ok", { settlestatus: "0" }), requesttypedescription: "ACCOUNTCHECK" }],
    call: (g, order) => g.accountCheck(payment(order)),
    expected: "Authorised"
  },
  {
    name: "G1: REFUND of an unsettled parent is 20005",
    type: "REFUND",
    documented: [{
      requesttypedescription: "REFUND",
      errorcode: "20005",
      errormessage: "Refund requires settled parent or parent thats due to settle today",
      transactionstartedtimestamp: STAMP
    }],
    call: (g, order) =>
      Effect.flatMap(parentOf(g, order), (parent) => g.refund({ parenttransactionreference: parent })),
    expected: "RequestRejected:refund-needs-settled-parent"
  },
  {
    name: "G1: REFUND of an unknown parent is 20004",
    type: "REFUND",
    documented: [{
      requesttypedescription: "REFUND",
      errorcode: "20004",
      errormessage: "Missing parent",
      transactionstartedtimestamp: STAMP
    }],
    call: (g) => g.refund({ parenttransactionreference: "9-9-999999" }),
    expected: "RequestRejected:missing-parent"
  },
  {
    name: "G5: TRANSACTIONQUERY answers found and records",
    type: "TRANSACTIONQUERY",
    documented: [{
      requesttypedescription: "TRANSACTIONQUERY",
      errorcode: "0",
      errormessage: "Ok",
      errordata: [],
      found: "1",
      records: [authItem("0", "Ok", { settlestatus: "0" })],
      transactionstartedtimestamp: STAMP
    }],
    call: (g, order) => Effect.zipRight(g.auth(payment(order)), g.transactionQuery({ orderreference: order })),
    expected: "found:1"
  },
  {
    name: "G1: TRANSACTIONUPDATE of a cancelled transaction is 60017",
    type: "TRANSACTIONUPDATE",
    documented: [{
      requesttypedescription: "TRANSACTIONUPDATE",
      errorcode: "60017",
      errormessage: "Transaction not updatable",
      transactionstartedtimestamp: STAMP
    }],
    call: (g, order) =>
      Effect.flatMap(parentOf(g, order), (parent) =>
        Effect.zipRight(
          g.transactionUpdate({ filter: { transactionreference: parent }, updates: { settlestatus: "3" } }),
          g.transactionUpdate({ filter: { transactionreference: parent }, updates: { settlestatus: "0" } })
        )),
    expected: "RequestRejected:not-updatable"
  },
  {
    name: "G5: THREEDQUERY of an enrolled card answers enrolled Y and where to authenticate",
    type: "THREEDQUERY",
    documented: [{
      requesttypedescription: "THREEDQUERY",
      transactionreference: "1-9-2",
      errorcode: "0",
      errormessage: "Ok",
      errordata: [],
      enrolled: "Y",
      acsurl: "https://acs.example.test/",
      md: "md",
      threedpayload: "payload",
      transactionstartedtimestamp: STAMP
    }],
    call: (g, order) => g.threeDQuery({ ...payment(order, "1050", ENROLLED), termurl: "https://shop.test/3ds" }),
    expected: "ThreeDQueried:Y"
  },
  {
    name: "G5: RISKDEC answers the shield status",
    type: "RISKDEC",
    documented: [{
      requesttypedescription: "RISKDEC",
      transactionreference: "1-9-3",
      errorcode: "0",
      errormessage: "Ok",
      errordata: [],
      fraudcontrolshieldstatuscode: "ACCEPT",
      fraudcontrolreference: "fr-1",
      transactionstartedtimestamp: STAMP
    }],
    call: (g, order) => g.riskDec(payment(order)),
    expected: "RiskDecision:ACCEPT"
  },
  {
    name: "G5: SUBSCRIPTION of an authorised parent is Subscribed",
    type: "SUBSCRIPTION",
    documented: [{
      requesttypedescription: "SUBSCRIPTION",
      transactionreference: "1-9-4",
      parenttransactionreference: "1-9-1",
      errorcode: "0",
      errormessage: "Ok",
      errordata: [],
      subscriptionnumber: "1",
      transactionstartedtimestamp: STAMP
    }],
    call: (g, order) =>
      Effect.flatMap(parentOf(g, order), (parent) =>
        g.subscription({
          parenttransactionreference: parent,
          accounttypedescription: "RECUR",
          subscriptiontype: "RECURRING",
          subscriptionunit: "MONTH",
          subscriptionfrequency: "1",
          subscriptionfinalnumber: "12"
        })),
    expected: "Subscribed"
  },
  {
    name: "G5: ACCOUNTCHECK+AUTH answers one item per type, the AUTH naming its parent",
    type: "ACCOUNTCHECK+AUTH",
    documented: [
      { ...authItem("0", "Ok", { settlestatus: "0" }), requesttypedescription: "ACCOUNTCHECK" },
      authItem("0", "Ok", { authcode: "TEST01", settlestatus: "0", parenttransactionreference: "1-9-1" })
    ],
    call: (g, order) => g.chain(["ACCOUNTCHECK", "AUTH"], payment(order)),
    expected: "chain(accountCheck=Authorised,auth=Authorised)"
  },
  {
    name: "G5: an enrolled THREEDQUERY+AUTH answers the THREEDQUERY alone",
    type: "THREEDQUERY+AUTH",
    documented: [{
      requesttypedescription: "THREEDQUERY",
      transactionreference: "1-9-2",
      errorcode: "0",
      errormessage: "Ok",
      errordata: [],
      enrolled: "Y",
      acsurl: "https://acs.example.test/",
      transactionstartedtimestamp: STAMP
    }],
    call: (g, order) =>
      g.chain(["THREEDQUERY", "AUTH"], { ...payment(order, "1050", ENROLLED), termurl: "https://shop.test/3ds" }),
    expected: "chain(threeDQuery=ThreeDQueried:Y)"
  },
  {
    name: "G5: AUTH+SUBSCRIPTION answers the AUTH and the subscription",
    type: "AUTH+SUBSCRIPTION",
    documented: [
      authItem("0", "Ok", { authcode: "TEST01", settlestatus: "0" }),
      {
        requesttypedescription: "SUBSCRIPTION",
        transactionreference: "1-9-5",
        parenttransactionreference: "1-9-1",
        errorcode: "0",
        errormessage: "Ok",
        errordata: [],
        subscriptionnumber: "1",
        transactionstartedtimestamp: STAMP
      }
    ],
    call: (g, order) =>
      g.chain(["AUTH", "SUBSCRIPTION"], {
        ...payment(order),
        subscriptiontype: "RECURRING",
        subscriptionunit: "MONTH",
        subscriptionfrequency: "1"
      }),
    expected: "chain(auth=Authorised,subscription=Subscribed)"
  }
]

// -----------------------------------------------------------------------------
// the client on a scripted connection answering with the documented items
// -----------------------------------------------------------------------------

const encoder = new TextEncoder()

const typesOf = (item: unknown): string =>
  Array.isArray((item as { requesttypedescriptions?: unknown }).requesttypedescriptions)
    ? (item as { requesttypedescriptions: Array<string> }).requesttypedescriptions.join("+")
    : "?"

/** Answers the case's type with its documented items; anything else (a parent AUTH) is authorised. */
const documentedGateway = (c: Case) =>
  GatewayClient.layer({
    username: "ws@example.test",
    password: Redacted.make("s3cret-pw"),
    sitereference: "test_site1"
  }).pipe(Layer.provide(Layer.succeed(ConnectionService.ConnectionService, {
    endpoint: { host: "webservices.securetrading.test", port: 443 },
    request: (request) =>
      Effect.sync(() => {
        const envelope = JSON.parse(String(request.body)) as { request: Array<unknown> }
        const types = typesOf(envelope.request[0])
        const items = types === c.type
          ? c.documented
          : [authItem("0", "Ok", { requesttypedescription: types, authcode: "TEST01", settlestatus: "0" })]
        const body = {
          requestreference: request.reference,
          version: "1.00",
          response: items.map((i) => ({ ...i, requestreference: request.reference })),
          secrand: "Z0Xk"
        }
        return {
          status: 200,
          headers: { "content-type": "application/json" },
          body: encoder.encode(JSON.stringify(body)),
          address: "127.0.0.9",
          attempts: 1,
          reused: false,
          elapsedMillis: 1
        }
      })
  })))

describe("Conformance: the client reads each documented answer as its typed result or error", () => {
  for (const c of CASES) {
    it.effect(`${c.name} (client)`, () =>
      Effect.gen(function*() {
        const gateway = yield* GatewayClient.GatewayClient
        expect(yield* settle(c.call(gateway, "conf-client"))).toBe(c.expected)
      }).pipe(Effect.provide(documentedGateway(c))))
  }
})

// -----------------------------------------------------------------------------
// the simulator over real sockets: the documented shape, read the same way
// -----------------------------------------------------------------------------

const ADDRESS = "127.0.0.35"

const live = Effect.gen(function*() {
  const sim = yield* Simulator.start({ addresses: [ADDRESS] })
  const settings = ConnectionConfig.layer(Simulator.settings(sim, { maxRetries: 2, logLevel: "warning" }))
  const connection = ConnectionService.layerWithoutConfig.pipe(Layer.provide(settings))
  const client = (password: string) =>
    GatewayClient.layer({ username: sim.username, password: Redacted.make(password), sitereference: sim.sitereference })
      .pipe(Layer.provide(connection))
  const context = yield* Layer.build(Layer.merge(client(sim.password), connection))
  return {
    sim,
    gateway: yield* Effect.provide(GatewayClient.GatewayClient, context),
    connection: yield* Effect.provide(ConnectionService.ConnectionService, context),
    badCredentials: client("not-the-password")
  }
})

/** The simulator's answer carries every documented field of each documented item, with its errorcode and type. */
const expectDocumentedShape = (c: Case, answered: ReadonlyArray<Item>) => {
  expect(answered.length).toBe(c.documented.length)
  c.documented.forEach((doc, i) => {
    const got = answered[i]
    for (const key of Object.keys(doc)) expect([c.name, i, key, key in got]).toEqual([c.name, i, key, true])
    expect(got.errorcode).toBe(doc.errorcode)
    expect(got.requesttypedescription).toBe(doc.requesttypedescription)
  })
}

describe("Conformance: the simulator answers each documented case in the documented shape (real sockets)", () => {
  for (const c of CASES) {
    it.scopedLive(`${c.name} (simulator)`, () =>
      Effect.gen(function*() {
        const { connection, gateway, sim } = yield* live
        if (c.fault !== undefined) yield* sim.setFault(ADDRESS, c.fault)
        // What the client makes of the simulator's answer.
        expect(yield* settle(c.call(gateway, "conf-sim-a"))).toBe(c.expected)
        // The shape: the same call again, its own request's answer read raw off the connection.
        const raw: Array<ReadonlyArray<Item>> = []
        const tapping: ConnectionService.ConnectionService["Type"] = {
          endpoint: connection.endpoint,
          request: (request) =>
            Effect.tap(connection.request(request), (response) =>
              Effect.sync(() => {
                const sent = JSON.parse(String(request.body)) as { request: Array<unknown> }
                if (typesOf(sent.request[0]) !== c.type) return
                const body = JSON.parse(new TextDecoder().decode(response.body)) as { response: Array<Item> }
                raw.push(body.response)
              }))
        }
        const tapped = GatewayClient.layer({
          username: sim.username,
          password: Redacted.make(sim.password),
          sitereference: sim.sitereference
        }).pipe(Layer.provide(Layer.succeed(ConnectionService.ConnectionService, tapping)))
        yield* settle(
          Effect.flatMap(GatewayClient.GatewayClient, (g) => c.call(g, "conf-sim-b")).pipe(
            Effect.provide(tapped)
          )
        )
        // The case's last request of its type is the one the documented answer is to.
        expect(raw.length).toBeGreaterThanOrEqual(1)
        expectDocumentedShape(c, raw[raw.length - 1])
      }))
  }

  it.scopedLive("G2: bad credentials are the 401 page, read as Unauthenticated; nothing is recorded", () =>
    Effect.gen(function*() {
      const { badCredentials, sim } = yield* live
      const result = yield* settle(
        Effect.flatMap(GatewayClient.GatewayClient, (g) => g.auth(payment("conf-401"))).pipe(
          Effect.provide(badCredentials)
        )
      )
      expect(result).toBe("Unauthenticated")
      expect(sim.transactions()).toEqual([])
    }))

  it.scopedLive("G1/G6: malformed JSON is 10205, an unknown type 60018, no searchable filter 60019, as documented", () =>
    Effect.gen(function*() {
      const { connection, sim } = yield* live
      const auth = { username: sim.username, password: Redacted.make(sim.password) }
      const answer = (body: string, reference: string) =>
        Effect.map(
          connection.request(GatewayClient.wireRequest(body, auth, reference)),
          (r) => JSON.parse(new TextDecoder().decode(r.body)) as { requestreference: string; response: Array<Item> }
        )
      const documented: ReadonlyArray<readonly [string, string, Item, string]> = [
        ["{\"alias\": oops", "Amalformed", {
          errorcode: "10205",
          requesttypedescription: "ERROR",
          transactionstartedtimestamp: STAMP,
          errormessage: "Malformed JSON",
          errordata: ["invalid json"]
        }, "MalformedRequest"],
        [
          JSON.stringify({ alias: sim.username, version: "1.00", request: [{ requesttypedescriptions: ["NOSUCH"] }] }),
          "Anosuchtyp",
          {
            errorcode: "60018",
            requesttypedescription: "ERROR",
            transactionstartedtimestamp: STAMP,
            errormessage: "Invalid requesttype"
          },
          "RequestRejected:invalid-request-type"
        ],
        [
          JSON.stringify({
            alias: sim.username,
            version: "1.00",
            request: [{
              requesttypedescriptions: ["TRANSACTIONUPDATE"],
              filter: { sitereference: [{ value: sim.sitereference }] },
              updates: { settlestatus: "2" }
            }]
          }),
          "Anofilter0",
          {
            errorcode: "60019",
            requesttypedescription: "TRANSACTIONUPDATE",
            transactionstartedtimestamp: STAMP,
            errormessage: "No searchable filter specified"
          },
          "RequestRejected:no-searchable-filter"
        ]
      ]
      for (const [body, reference, doc, expected] of documented) {
        const got = yield* answer(body, reference)
        expect(got.requestreference).toBe(reference)
        expect(got.response.length).toBe(1)
        for (const key of Object.keys(doc)) {
          expect([doc.errorcode, key, key in got.response[0]]).toEqual([doc.errorcode, key, true])
        }
        expect(got.response[0].errorcode).toBe(doc.errorcode)
        expect(got.response[0].requesttypedescription).toBe(doc.requesttypedescription)
        // Both the documented item and the simulator's read as the same typed error.
        const item = got.response[0] as GatewayClient.Sent["envelope"]["response"][number]
        expect(label(GatewayClient.errorOf(item, reference, { username: sim.username }))).toBe(expected)
        expect(
          label(
            GatewayClient.errorOf(doc as GatewayClient.Sent["envelope"]["response"][number], reference, {
              username: sim.username
            })
          )
        ).toBe(expected)
      }
      expect(sim.transactions()).toEqual([])
    }))
})

// -----------------------------------------------------------------------------
// G4: no documented AUTH field is dropped on the way to the wire
// -----------------------------------------------------------------------------

/** The AUTH fields the vendor's AUTH, billing/customer, card-on-file, settlement and 3-D Secure pages list. */
const DOCUMENTED_AUTH_FIELDS = [
  "sitereference",
  "accounttypedescription",
  "currencyiso3a",
  "baseamount",
  "orderreference",
  "pan",
  "expirydate",
  "securitycode",
  "paymenttypedescription",
  "cachetoken",
  "credentialsonfile",
  "parenttransactionreference",
  "initiationreason",
  "settlestatus",
  "settleduedate",
  "authmethod",
  "chargedescription",
  "operatorname",
  "merchantemail",
  "customfield1",
  "customfield2",
  "customfield3",
  "customfield4",
  "customfield5",
  ...[
    "prefixname",
    "firstname",
    "middlename",
    "lastname",
    "suffixname",
    "premise",
    "street",
    "town",
    "county",
    "postcode",
    "countryiso2a",
    "email",
    "telephone",
    "telephonetype"
  ].flatMap((f) => [`billing${f}`, `customer${f}`]),
  "billingdob",
  "customerip",
  "customershippingmethod",
  "threedresponse",
  "threedversion",
  "enrolled",
  "status",
  "cavv",
  "eci",
  "xid",
  "md",
  "pares",
  "directorytransactionid"
] as const

const CARD_FIELDS = new Set(["pan", "expirydate", "securitycode", "cachetoken"])

describe("Conformance: G4 nothing documented is dropped", () => {
  it.effect("G4: every documented AUTH field, set through GatewayClient.auth, reaches the wire verbatim", () => {
    const bodies: Array<string> = []
    const connection = Layer.succeed(ConnectionService.ConnectionService, {
      endpoint: { host: "webservices.securetrading.test", port: 443 },
      request: (request) =>
        Effect.sync(() => {
          bodies.push(String(request.body))
          const body = {
            requestreference: request.reference,
            version: "1.00",
            response: [authItem("0", "Ok", { authcode: "TEST01" })]
          }
          return {
            status: 200,
            headers: {},
            body: encoder.encode(JSON.stringify(body)),
            address: "127.0.0.9",
            attempts: 1,
            reused: false,
            elapsedMillis: 1
          }
        })
    })
    const client = GatewayClient.layer({ username: "ws@example.test", password: Redacted.make("pw") }).pipe(
      Layer.provide(connection)
    )
    return Effect.gen(function*() {
      const input: Record<string, unknown> = {}
      for (const f of DOCUMENTED_AUTH_FIELDS) {
        const value = f === "baseamount" ? "1050" : f === "currencyiso3a" ? "GBP" : `v-${f}`
        input[f] = CARD_FIELDS.has(f) ? Redacted.make(value) : value
      }
      const gateway = yield* GatewayClient.GatewayClient
      yield* gateway.auth(input as unknown as GatewayClient.AuthInput)
      const item = JSON.parse(bodies[0]).request[0] as Record<string, unknown>
      const missing = DOCUMENTED_AUTH_FIELDS.filter((f) =>
        item[f] !== (f === "baseamount" ? "1050" : f === "currencyiso3a" ? "GBP" : `v-${f}`)
      )
      expect(missing).toEqual([])
      expect(item.requesttypedescriptions).toEqual(["AUTH"])
    }).pipe(Effect.provide(client))
  })
})
