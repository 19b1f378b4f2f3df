import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Https from "node:https"
import type * as Net from "node:net"
import * as Tls from "node:tls"
import * as GatewayServer from "../src/GatewayServer.js"
import * as TestCa from "../src/TestCa.js"

const HOST = "webservices.securetrading.test"
const A = "127.0.0.21"
const B = "127.0.0.22"
const USER = "ws@example.test"
const PASSWORD = "pw-123"
const SITE = "test_site1"
const VISA = "4111111111111111"
const DECLINE_CARD = "4000000000000002"

const setup = Effect.gen(function*() {
  const now = new Date()
  const ca = yield* TestCa.make({ now })
  const leaf = yield* ca.issue({ hostnames: [HOST], notBefore: new Date(now.getTime() - 3_600_000) })
  const server = yield* GatewayServer.start({
    addresses: [A, B],
    tls: { key: leaf.key, cert: leaf.chain },
    username: USER,
    password: PASSWORD,
    sitereference: SITE
  })
  return { ca, server }
})

interface Reply {
  readonly status: number
  readonly headers: Record<string, unknown>
  readonly text: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- arbitrary JSON read by the tests
  readonly json: any
  readonly socket: Net.Socket
}

interface PostOptions {
  readonly address?: string
  readonly auth?: string
  readonly reference?: string
  readonly agent?: Https.Agent
  readonly timeout?: number
  /** A body sent as it is (e.g. malformed JSON). */
  readonly raw?: string
}

/** A plain node https POST: the simulator tests use no library code of the client. */
const post = (
  ctx: { ca: TestCa.TestCa; server: GatewayServer.GatewayServer },
  envelope: unknown,
  options: PostOptions = {}
) =>
  Effect.async<Reply, NodeJS.ErrnoException>((resume) => {
    const body = options.raw ?? JSON.stringify(envelope)
    const req = Https.request({
      host: options.address ?? A,
      port: ctx.server.port,
      servername: HOST,
      ca: ctx.ca.root.cert,
      path: "/json/",
      method: "POST",
      agent: options.agent ?? false,
      timeout: options.timeout ?? 5_000,
      headers: {
        "content-type": "application/json;charset=utf-8",
        accept: "application/json",
        authorization: "Basic " + Buffer.from(options.auth ?? `${USER}:${PASSWORD}`).toString("base64"),
        ...(options.reference === undefined ? {} : { requestreference: options.reference })
      }
    }, (res) => {
      const socket = res.socket
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8")
        let json: unknown = undefined
        try {
          json = JSON.parse(text)
        } catch {
          // not JSON
        }
        resume(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, text, json, socket }))
      })
    })
    req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })))
    req.on("error", (e) => resume(Effect.fail(e)))
    req.end(body)
  })

const auth = (fields: Record<string, unknown> = {}) => ({
  alias: USER,
  version: "1.00",
  request: [{
    requesttypedescriptions: ["AUTH"],
    sitereference: SITE,
    baseamount: "1050",
    currencyiso3a: "GBP",
    accounttypedescription: "ECOM",
    orderreference: "order-1",
    pan: VISA,
    expirydate: "12/2030",
    securitycode: "123",
    ...fields
  }]
})

const query = (filter: Record<string, unknown>) => ({
  alias: USER,
  version: "1.00",
  request: [{ requesttypedescriptions: ["TRANSACTIONQUERY"], filter }]
})

const errorCode = (e: NodeJS.ErrnoException) => e.code ?? e.message

describe("GatewayServer: the JSON API", () => {
  it.scopedLive("AUTH with a test card is authorised, echoes the reference and is recorded without the PAN", () =>
    Effect.gen(function*() {
      const ctx = yield* setup
      const reply = yield* post(ctx, auth(), { reference: "Aabc12345" })
      expect(reply.status).toBe(200)
      expect(reply.headers["content-type"]).toBe("application/json")
      expect(reply.json.requestreference).toBe("Aabc12345")
      expect(reply.json.version).toBe("1.00")
      const item = reply.json.response[0]
      expect(item.errorcode).toBe("0")
      expect(item.requesttypedescription).toBe("AUTH")
      expect(item.maskedpan).toBe("411111######1111")
      expect(item.transactionreference).toMatch(/^21-9-\d+$/)
      expect(reply.text.includes(VISA)).toBe(false)
      const [t] = ctx.server.transactions()
      expect(t.orderreference).toBe("order-1")
      expect(t.address).toBe(A)
      expect(JSON.stringify(ctx.server.transactions()).includes(VISA)).toBe(false)
      expect(JSON.stringify(ctx.server.requestLog()).includes(VISA)).toBe(false)
      expect(ctx.server.requestsReceived(A)).toBe(1)
      expect(ctx.server.requestsReceived(B)).toBe(0)
    }))

  it.scopedLive("the decline card and unknown cards are declined (70000); bad fields are 30000 with errordata", () =>
    Effect.gen(function*() {
      const ctx = yield* setup
      const declined = yield* post(ctx, auth({ pan: DECLINE_CARD }))
      expect(declined.json.response[0].errorcode).toBe("70000")
      expect(declined.json.response[0].errormessage).toBe("Decline")
      const unknown = yield* post(ctx, auth({ pan: "4012888888881881" }))
      expect(unknown.json.response[0].errorcode).toBe("70000")
      const badPan = yield* post(ctx, auth({ pan: "4111111111111112" }))
      expect(badPan.json.response[0].errorcode).toBe("30000")
      expect(badPan.json.response[0].errordata).toEqual(["pan"])
      const noCvv = yield* post(ctx, auth({ securitycode: undefined }))
      expect(noCvv.json.response[0].errordata).toEqual(["securitycode"])
      const amex = yield* post(ctx, auth({ pan: "378282246310005", securitycode: "1234" }))
      expect(amex.json.response[0].errorcode).toBe("0")
      expect(ctx.server.transactions().map((t) => t.errorcode)).toEqual(["70000", "70000", "0"])
    }))

  it.scopedLive("G2/G6: wrong credentials are the HTML 401 page; an alias that is not the user is 60022; nothing is recorded", () =>
    Effect.gen(function*() {
      const ctx = yield* setup
      const reply = yield* post(ctx, auth(), { auth: `${USER}:wrong` })
      expect(reply.status).toBe(401)
      expect(reply.headers["content-type"]).toMatch(/^text\/html/)
      expect(reply.text).toContain("401 Authorization Required")
      expect(reply.json).toBeUndefined()
      const alias = yield* post(ctx, { ...auth(), alias: "someone@else.test" })
      expect(alias.json.response[0].errorcode).toBe("60022")
      expect(ctx.server.transactions()).toEqual([])
    }))

  it.scopedLive("G6: malformed JSON is 10205 in JSON; an unknown type or chain is 60018, as the troubleshooting page shows", () =>
    Effect.gen(function*() {
      const ctx = yield* setup
      const bad = yield* post(ctx, undefined, { raw: "{\"alias\": ", reference: "Amalformed" })
      expect(bad.status).toBe(200)
      expect(bad.json.requestreference).toBe("Amalformed")
      expect(bad.json.response).toEqual([{
        requesttypedescription: "ERROR",
        transactionstartedtimestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
        errorcode: "10205",
        errormessage: "Malformed JSON",
        errordata: ["invalid json"]
      }])
      const unknown = yield* post(ctx, auth({ requesttypedescriptions: ["PAYOUT"] }))
      expect(unknown.json.response[0]).toMatchObject({ errorcode: "60018", requesttypedescription: "ERROR" })
      const chain = yield* post(ctx, auth({ requesttypedescriptions: ["REFUND", "AUTH"] }))
      expect(chain.json.response[0].errorcode).toBe("60018")
      expect(ctx.server.transactions()).toEqual([])
    }))

  it.scopedLive("G6: the test bank's amounts: 70000 declines, 60010 is the bank-system error, 1050 is safe", () =>
    Effect.gen(function*() {
      const ctx = yield* setup
      const codes: Array<string> = []
      for (const baseamount of ["70000", "60010", "1050"]) {
        const reply = yield* post(ctx, auth({ baseamount, orderreference: `amt-${baseamount}` }))
        codes.push(reply.json.response[0].errorcode)
      }
      expect(codes).toEqual(["70000", "60010", "0"])
      const q = yield* post(ctx, query({ orderreference: [{ value: "amt-60010" }] }))
      expect(q.json.response[0].records[0].errorcode).toBe("60010")
    }))

  it.scopedLive("G5/G6: chains answer one item per processed type, each child naming its parent", () =>
    Effect.gen(function*() {
      const ctx = yield* setup
      const ac = (yield* post(ctx, auth({ requesttypedescriptions: ["ACCOUNTCHECK", "AUTH"] }))).json.response
      expect(ac.map((i: { requesttypedescription: string }) => i.requesttypedescription)).toEqual([
        "ACCOUNTCHECK",
        "AUTH"
      ])
      expect(ac[1].parenttransactionreference).toBe(ac[0].transactionreference)
      const declined =
        (yield* post(ctx, auth({ requesttypedescriptions: ["ACCOUNTCHECK", "AUTH"], pan: DECLINE_CARD })))
          .json.response
      expect(declined.length).toBe(1)
      const enrolled =
        (yield* post(ctx, auth({ requesttypedescriptions: ["THREEDQUERY", "AUTH"], pan: "4000000000001091" })))
          .json.response
      expect(enrolled.length).toBe(1)
      expect(enrolled[0]).toMatchObject({ requesttypedescription: "THREEDQUERY", enrolled: "Y", errorcode: "0" })
      expect(enrolled[0].acsurl).toMatch(/^https:/)
      const frictionless = (yield* post(ctx, auth({ requesttypedescriptions: ["THREEDQUERY", "AUTH"] }))).json.response
      expect(frictionless.map((i: { errorcode: string }) => i.errorcode)).toEqual(["0", "0"])
      const sub = (yield* post(
        ctx,
        auth({
          requesttypedescriptions: ["AUTH", "SUBSCRIPTION"],
          subscriptiontype: "RECURRING",
          subscriptionunit: "MONTH",
          subscriptionfrequency: "1",
          subscriptionfinalnumber: "12"
        })
      )).json.response
      expect(sub[1]).toMatchObject({ requesttypedescription: "SUBSCRIPTION", errorcode: "0" })
      expect(sub[1].parenttransactionreference).toBe(sub[0].transactionreference)
      const risk = (yield* post(ctx, auth({ requesttypedescriptions: ["RISKDEC", "AUTH"] }))).json.response
      expect(risk[0].fraudcontrolshieldstatuscode).toBe("ACCEPT")
      expect(risk.length).toBe(2)
    }))

  it.scopedLive("G6: query timestamps filter by transactionstartedtimestamp; no searchable filter is 60019", () =>
    Effect.gen(function*() {
      const ctx = yield* setup
      yield* post(ctx, auth({ orderreference: "ts-1" }))
      const [t] = ctx.server.transactions()
      const at = t.transactionstartedtimestamp
      const inside = yield* post(ctx, query({ starttimestamp: [{ value: at }], endtimestamp: [{ value: at }] }))
      expect(inside.json.response[0].found).toBe("1")
      expect(inside.json.response[0].records[0].transactionstartedtimestamp).toBe(at)
      const later = yield* post(ctx, query({ starttimestamp: [{ value: "2999-01-01 00:00:00" }] }))
      expect(later.json.response[0].found).toBe("0")
      const none = yield* post(ctx, query({ sitereference: [{ value: SITE }] }))
      expect(none.json.response[0]).toMatchObject({
        errorcode: "60019",
        errormessage: "No searchable filter specified"
      })
    }))

  it.scopedLive("TRANSACTIONQUERY answers from what was recorded (by order reference, across addresses)", () =>
    Effect.gen(function*() {
      const ctx = yield* setup
      yield* post(ctx, auth({ orderreference: "o-7" }), { address: A })
      yield* post(ctx, auth({ orderreference: "o-8" }), { address: B })
      const reply = yield* post(ctx, query({ orderreference: [{ value: "o-7" }] }), { address: B })
      const item = reply.json.response[0]
      expect(item.errorcode).toBe("0")
      expect(item.found).toBe("1")
      expect(item.records[0].orderreference).toBe("o-7")
      expect(item.records[0].requesttypedescription).toBe("AUTH")
      const none = yield* post(ctx, query({ orderreference: [{ value: "nope" }] }))
      expect(none.json.response[0].found).toBe("0")
    }))
})

const refund = (parent: string, fields: Record<string, unknown> = {}) => ({
  alias: USER,
  version: "1.00",
  request: [{ requesttypedescriptions: ["REFUND"], sitereference: SITE, parenttransactionreference: parent, ...fields }]
})

const update = (reference: string, updates: Record<string, unknown>) => ({
  alias: USER,
  version: "1.00",
  request: [{
    requesttypedescriptions: ["TRANSACTIONUPDATE"],
    filter: { sitereference: [{ value: SITE }], transactionreference: [{ value: reference }] },
    updates
  }]
})

describe("GatewayServer: settlement on the clock, refunds and updates (G6)", () => {
  // it.scoped: the server reads TestClock time; the requests are real sockets that never sleep.
  it.scoped("G6: settlement advances with TestClock time; refunds only of settled parents; updates only while 0, 1 or 2", () =>
    Effect.gen(function*() {
      const ctx = yield* setup
      const paid = (yield* post(ctx, auth({ orderreference: "s-1" }))).json.response[0]
      const ref = paid.transactionreference
      expect(paid.settlestatus).toBe("0")
      const early = yield* post(ctx, refund(ref))
      expect(early.json.response[0].errorcode).toBe("20005")
      const cut = yield* post(ctx, update(ref, { settlebaseamount: "1000" }))
      expect(cut.json.response[0].errorcode).toBe("0")
      const tooLarge = yield* post(ctx, update(ref, { settlebaseamount: "99999" }))
      expect(tooLarge.json.response[0].errorcode).toBe("60016")
      const missing = yield* post(ctx, refund("9-9-999"))
      expect(missing.json.response[0].errorcode).toBe("20004")

      yield* TestClock.adjust("1 day")
      const settled = (yield* post(ctx, query({ transactionreference: [{ value: ref }] }))).json.response[0]
      expect(settled.records[0].settlestatus).toBe("100")
      const late = yield* post(ctx, update(ref, { settlestatus: "3" }))
      expect(late.json.response[0]).toMatchObject({ errorcode: "60017", errormessage: "Transaction not updatable" })
      const tooMuch = yield* post(ctx, refund(ref, { baseamount: "1001" }))
      expect(tooMuch.json.response[0].errorcode).toBe("20007")
      const part = yield* post(ctx, refund(ref, { baseamount: "400" }))
      expect(part.json.response[0]).toMatchObject({ errorcode: "0", parenttransactionreference: ref })
      const rest = yield* post(ctx, refund(ref))
      expect(rest.json.response[0].baseamount).toBe("600")
      const more = yield* post(ctx, refund(ref, { baseamount: "1" }))
      expect(more.json.response[0].errorcode).toBe("20007")

      // a suspended payment never settles and can still be cancelled
      const held = (yield* post(ctx, auth({ orderreference: "s-2", settlestatus: "2" }))).json.response[0]
      yield* TestClock.adjust("3 days")
      expect(ctx.server.transactions().find((t) => t.transactionreference === held.transactionreference)?.settlestatus)
        .toBe("2")
      const cancel = yield* post(ctx, update(held.transactionreference, { settlestatus: "3" }))
      expect(cancel.json.response[0].errorcode).toBe("0")
      const refundCancelled = yield* post(ctx, refund(held.transactionreference))
      expect(refundCancelled.json.response[0].errorcode).toBe("20012")
      const noUpdates = yield* post(ctx, update(ref, {}))
      expect(noUpdates.json.response[0].errorcode).toBe("60013")
    }))
})

describe("GatewayServer: faults, each seen from a client", () => {
  it.scopedLive("Refuse: connections are refused; None: served again on the same port", () =>
    Effect.gen(function*() {
      const ctx = yield* setup
      yield* ctx.server.setFault(A, GatewayServer.Fault.Refuse())
      const e = yield* Effect.flip(post(ctx, auth()))
      expect(errorCode(e)).toBe("ECONNREFUSED")
      const other = yield* post(ctx, auth(), { address: B })
      expect(other.status).toBe(200)
      yield* ctx.server.setFault(A, GatewayServer.Fault.None())
      const again = yield* post(ctx, auth())
      expect(again.status).toBe(200)
    }))

  it.scopedLive("ResetOnConnect: TCP accepted, then reset before TLS", () =>
    Effect.gen(function*() {
      const ctx = yield* setup
      yield* ctx.server.setFault(A, GatewayServer.Fault.ResetOnConnect())
      const e = yield* Effect.flip(post(ctx, auth()))
      expect(errorCode(e)).toBe("ECONNRESET")
      expect(ctx.server.connectionsAccepted(A)).toBe(1)
      expect(ctx.server.requestsReceived()).toBe(0)
    }))

  it.scopedLive("StallHandshake: TCP accepted, the TLS handshake never completes", () =>
    Effect.gen(function*() {
      const ctx = yield* setup
      yield* ctx.server.setFault(A, GatewayServer.Fault.StallHandshake())
      const outcome = yield* Effect.async<string>((resume) => {
        const socket = Tls.connect({ host: A, port: ctx.server.port, servername: HOST, ca: ctx.ca.root.cert })
        let tcp = false
        socket.once("connect", () => {
          tcp = true
        })
        socket.once("secureConnect", () => resume(Effect.succeed("handshake completed")))
        socket.once("error", (e) => resume(Effect.succeed(`error ${e.message}`)))
        socket.setTimeout(400, () => {
          socket.destroy()
          resume(Effect.succeed(tcp ? "stalled after TCP connect" : "no TCP connect"))
        })
      })
      expect(outcome).toBe("stalled after TCP connect")
      expect(ctx.server.connectionsAccepted(A)).toBe(1)
      expect(ctx.server.handshakesCompleted(A)).toBe(0)
    }))

  it.scopedLive("ResetAfterRequest: the request is processed and recorded, then the connection is reset", () =>
    Effect.gen(function*() {
      const ctx = yield* setup
      yield* ctx.server.setFault(A, GatewayServer.Fault.ResetAfterRequest({}))
      const e = yield* Effect.flip(post(ctx, auth({ orderreference: "lost-1" })))
      expect(["ECONNRESET", "socket hang up"]).toContain(errorCode(e))
      expect(ctx.server.requestsReceived(A)).toBe(1)
      expect(ctx.server.transactions().map((t) => t.orderreference)).toEqual(["lost-1"])
    }))

  it.scopedLive("AnswerLate: the answer comes after the delay", () =>
    Effect.gen(function*() {
      const ctx = yield* setup
      yield* ctx.server.setFault(A, GatewayServer.Fault.AnswerLate({ millis: 300 }))
      const started = process.hrtime.bigint()
      const reply = yield* post(ctx, auth())
      const elapsed = Number(process.hrtime.bigint() - started) / 1e6
      expect(reply.json.response[0].errorcode).toBe("0")
      expect(elapsed).toBeGreaterThanOrEqual(290)
      const late = yield* Effect.flip(post(ctx, auth(), { timeout: 100 }))
      expect(errorCode(late)).toBe("TIMEOUT")
    }))

  it.scopedLive("Drop(1, 2): one of every two connections is dropped before TLS", () =>
    Effect.gen(function*() {
      const ctx = yield* setup
      yield* ctx.server.setFault(A, GatewayServer.Fault.Drop({ n: 1, m: 2 }))
      const results: Array<string> = []
      for (let i = 0; i < 4; i++) {
        const r = yield* Effect.either(post(ctx, auth({ orderreference: `d-${i}` })))
        results.push(r._tag === "Right" ? String(r.right.status) : "dropped")
      }
      expect(results).toEqual(["dropped", "200", "dropped", "200"])
      expect(ctx.server.connectionsAccepted(A)).toBe(4)
      expect(ctx.server.handshakesCompleted(A)).toBe(2)
    }))

  it.scopedLive("CloseKeepAlive: the kept-alive connection is closed right after the answer", () =>
    Effect.gen(function*() {
      const ctx = yield* setup
      const agent = new Https.Agent({ keepAlive: true, maxSockets: 1 })
      yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))
      const first = yield* post(ctx, auth(), { agent })
      const second = yield* post(ctx, auth(), { agent })
      expect(second.socket).toBe(first.socket) // normally the connection is reused
      yield* ctx.server.setFault(A, GatewayServer.Fault.CloseKeepAlive())
      const third = yield* post(ctx, auth(), { agent })
      expect(third.headers["connection"]).toBe("keep-alive")
      yield* Effect.async<void>((resume) => {
        if (third.socket.destroyed) return resume(Effect.void)
        third.socket.once("close", () => resume(Effect.void))
      }).pipe(Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => new Error("not closed") }))
      expect(ctx.server.connectionsAccepted(A)).toBe(1)
    }))

  it.scopedLive("WrongReference, Malformed, HttpStatus and ErrorCode answers", () =>
    Effect.gen(function*() {
      const ctx = yield* setup
      yield* ctx.server.setFault(A, GatewayServer.Fault.WrongReference())
      const wrong = yield* post(ctx, auth(), { reference: "Aaaaa1111" })
      expect(wrong.json.requestreference).not.toBe("Aaaaa1111")
      yield* ctx.server.setFault(A, GatewayServer.Fault.Malformed())
      const malformed = yield* post(ctx, auth())
      expect(malformed.json).toBeUndefined()
      yield* ctx.server.setFault(A, GatewayServer.Fault.HttpStatus({ status: 502 }))
      const bad = yield* post(ctx, auth())
      expect(bad.status).toBe(502)
      yield* ctx.server.setFault(A, GatewayServer.Fault.ErrorCode({ code: "50003" }))
      const upstream = yield* post(ctx, auth())
      expect(upstream.json.response[0].errorcode).toBe("50003")
      // WrongReference and Malformed processed the payment; HttpStatus and ErrorCode did not
      expect(ctx.server.transactions().length).toBe(2)
      expect(ctx.server.requestsReceived(A)).toBe(4)
      // ErrorCode with process: recorded as authorised, answered 60010 (the answer was lost upstream)
      yield* ctx.server.setFault(
        A,
        GatewayServer.Fault.ErrorCode({ code: "60010", process: true, requestTypes: ["AUTH"] })
      )
      const lost = yield* post(ctx, auth({ orderreference: "lost-1" }))
      expect(lost.json.response[0].errorcode).toBe("60010")
      expect(ctx.server.transactions().find((t) => t.orderreference === "lost-1")?.errorcode).toBe("0")
    }))

  it.scopedLive("only loopback addresses are accepted", () =>
    Effect.gen(function*() {
      const ca = yield* TestCa.make({ now: new Date() })
      const leaf = yield* ca.issue({ hostnames: [HOST] })
      const e = yield* Effect.flip(GatewayServer.start({
        addresses: ["10.0.0.1"],
        tls: { key: leaf.key, cert: leaf.chain },
        username: USER,
        password: PASSWORD
      }))
      expect(e._tag).toBe("GatewayServerError")
    }))
})
