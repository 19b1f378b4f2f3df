/**
 * `@effect/platform` HttpClient code over the safe connection (E4): the app speaks
 * `HttpClientRequest` / `HttpClientResponse` / `schemaBodyJson`, composes `retryTransient` on top,
 * and every request still goes through the ConnectionService's DNS, verified TLS, pool, retry
 * policy and redaction. A request whose bytes were written is never sent again (R3): it fails with
 * `OutcomeUnknown` as its cause, and the app looks the transaction up instead.
 *
 * Configuration comes from the environment (`STPP_URL`, `STPP_USERNAME`, `STPP_PASSWORD`,
 * `STPP_SITE_REFERENCE`, ...). Against the local simulator:
 *
 *   node packages/simulator/dist/bin.js > /tmp/sim.env &   # starts it, prints the environment
 *   set -a; . /tmp/sim.env; set +a
 *   node examples/build/http-client.js
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { ConnectionHttpClient, ConnectionService } from "@stpp/connect"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"

// The HttpClient the app's code asks for, over the connection service.
const Live = ConnectionHttpClient.layer.pipe(Layer.provide(ConnectionService.layer))

const Answer = Schema.Struct({
  response: Schema.Array(Schema.Struct({
    errorcode: Schema.String,
    errormessage: Schema.optional(Schema.String),
    transactionreference: Schema.optional(Schema.String)
  }))
})

const program = Effect.gen(function*() {
  const username = yield* Config.string("STPP_USERNAME")
  const password = yield* Config.redacted("STPP_PASSWORD")
  const sitereference = yield* Config.withDefault(Config.string("STPP_SITE_REFERENCE"), "test_site12345")
  // NotSent (nothing left the machine) is retried; OutcomeUnknown never is, whatever the schedule
  const client = (yield* HttpClient.HttpClient).pipe(
    HttpClient.filterStatusOk,
    HttpClient.retryTransient({ times: 3, schedule: Schedule.exponential("200 millis") })
  )
  const request = HttpClientRequest.post("/json/").pipe(
    HttpClientRequest.basicAuth(username, Redacted.value(password)),
    HttpClientRequest.acceptJson,
    HttpClientRequest.bodyUnsafeJson({
      alias: username,
      version: "1.00",
      request: [{
        requesttypedescriptions: ["AUTH"],
        sitereference,
        orderreference: "order-2001",
        baseamount: "1050",
        currencyiso3a: "GBP",
        accounttypedescription: "ECOM",
        pan: "4111111111111111",
        expirydate: "12/2030",
        securitycode: "123"
      }]
    })
  )
  const answer = yield* client.execute(request).pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Answer)))
  const item = answer.response[0]
  yield* Effect.log(item?.errorcode === "0" ? "authorised" : `declined: ${item?.errormessage ?? "?"}`)
}).pipe(
  Effect.catchTag("ResponseError", (e) =>
    ConnectionHttpClient.isOutcomeUnknown(e)
      // The request was written; the gateway may have acted on it. Look order-2001 up; do not resend.
      ? Effect.logWarning("outcome unknown for order-2001: look the transaction up before trying again")
      : Effect.fail(e))
)

// Errors are logged through the redacting logger the layer installs; the exit code says it failed.
Effect.runPromiseExit(program.pipe(Effect.tapErrorCause(Effect.logError), Effect.provide(Live))).then((exit) => {
  if (exit._tag === "Failure") process.exitCode = 1
})
