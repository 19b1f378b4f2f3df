/**
 * The fake gateway behind `GatewayClient.layerTest`: a `ConnectionService` that answers each
 * request item from a script (by default: authorised, and TRANSACTIONQUERY finds what was
 * recorded), and the `TestGateway` controller that steers it.
 *
 * @internal
 */
import type * as ConnectionError from "@stpp/connect/ConnectionError"
import type * as ConnectionService from "@stpp/connect/ConnectionService"
import * as Redact from "@stpp/connect/Redact"
import * as Effect from "effect/Effect"
import type { SeenRequest, TestGateway } from "../GatewayClient.js"

type Answer = (item: SeenRequest) => Readonly<Record<string, unknown>>

const decoder = new TextDecoder()

/** Authorises every payment, records it by order reference, and finds it again by that reference. */
const defaultAnswer = (): Answer => {
  const payments = new Map<string, Readonly<Record<string, unknown>>>()
  let counter = 0
  return (item) => {
    const types = item.requesttypedescriptions
    const type = Array.isArray(types) ? String(types[0]) : "AUTH"
    if (type === "TRANSACTIONQUERY") {
      const filter = item.filter as { readonly orderreference?: ReadonlyArray<{ readonly value: string }> } | undefined
      const order = filter?.orderreference?.[0]?.value
      const found = order === undefined ? undefined : payments.get(order)
      return found === undefined
        ? { errorcode: "0", errormessage: "Ok", found: "0", records: [] }
        : { errorcode: "0", errormessage: "Ok", found: "1", records: [found] }
    }
    counter++
    const record = {
      errorcode: "0",
      errormessage: "Ok",
      requesttypedescription: type,
      transactionreference: `TEST-${counter}`,
      authcode: "TEST01",
      settlestatus: "0",
      maskedpan: typeof item.pan === "string" ? item.pan.replace(/\*/g, "#") : undefined,
      orderreference: item.orderreference
    }
    if (typeof item.orderreference === "string") payments.set(item.orderreference, record)
    return record
  }
}

/**
 * A fresh fake: its connection and its controller share one script and one record of requests.
 *
 * @internal
 */
export const make = (): {
  readonly connection: ConnectionService.ConnectionService["Type"]
  readonly controller: TestGateway["Type"]
} => {
  const seen: Array<SeenRequest> = []
  const failures: Array<ConnectionError.RequestError> = []
  let answer = defaultAnswer()
  const connection: ConnectionService.ConnectionService["Type"] = {
    endpoint: { host: "webservices.securetrading.test", port: 443 },
    request: (request) =>
      Effect.suspend(() => {
        const failure = failures.shift()
        if (failure !== undefined) return Effect.fail(failure)
        const envelope = JSON.parse(typeof request.body === "string" ? request.body : decoder.decode(request.body))
        const items = (Array.isArray(envelope.request) ? envelope.request : []).map((item: unknown) =>
          Redact.value(item) as SeenRequest
        )
        seen.push(...items)
        const body = JSON.stringify({
          requestreference: request.reference,
          version: "1.00",
          response: items.map((item: SeenRequest) => ({ ...answer(item), requestreference: request.reference }))
        })
        return Effect.succeed({
          status: 200,
          headers: { "content-type": "application/json" },
          body: new TextEncoder().encode(body),
          address: "127.0.0.1",
          attempts: 1,
          reused: false,
          elapsedMillis: 0
        })
      })
  }
  const controller: TestGateway["Type"] = {
    answerWith: (f) =>
      Effect.sync(() => {
        answer = f
      }),
    failNext: (error) => Effect.sync(() => void failures.push(error)),
    requests: Effect.sync(() => seen.slice())
  }
  return { connection, controller }
}
