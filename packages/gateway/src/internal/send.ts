/**
 * One envelope on the wire: encoded with the request reference, sent with Basic auth, and its
 * answer checked for status, JSON, envelope shape, the echoed reference and the number of items.
 * Errorcodes are not read here (see `errorCode.ts`).
 *
 * @internal
 */
import type * as ConnectionService from "@stpp/connect/ConnectionService"
import * as Redact from "@stpp/connect/Redact"
import * as RedactingLogger from "@stpp/connect/RedactingLogger"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Tracer from "effect/Tracer"
import * as Envelope from "../Envelope.js"
import type { Sent } from "../GatewayClient.js"
import {
  HttpStatusError,
  InvalidRequest,
  MalformedResponse,
  ReferenceMismatch,
  safeGatewayText,
  Unauthenticated
} from "../GatewayError.js"
import type {
  InvalidRequest as InvalidRequestT,
  ResponseError,
  TransportError,
  Unauthenticated as UnauthenticatedT
} from "../GatewayError.js"
import type * as Requests from "../Requests.js"
import * as Responses from "../Responses.js"
import type { CredentialsFrom, Variables } from "./errorCode.js"
import { wireRequest } from "./wire.js"

/**
 * What sending needs from the client: the connection and the credentials.
 *
 * @internal
 */
export interface Sender {
  readonly connection: ConnectionService.ConnectionService["Type"]
  readonly username: string
  readonly password: Redacted.Redacted<string>
  readonly credentialsFrom: CredentialsFrom
  readonly variables?: Variables | undefined
}

const LAST4: Redact.Options = { panMask: "last4" }
const DEFAULT: Redact.Options = {}

/**
 * How what the client writes (log lines, span attributes) is redacted: the connection's PAN mask.
 *
 * @internal
 */
export const redactOptions = (connection: ConnectionService.ConnectionService["Type"]): Redact.Options =>
  connection.panMask === "last4" ? LAST4 : DEFAULT

/** @internal */
export type Requests1 = readonly [Requests.Request, ...Array<Requests.Request>]

/** @internal */
export type SendError = InvalidRequestT | TransportError | ResponseError | UnauthenticatedT

/**
 * The paths a parse error names, without the values at them.
 *
 * @internal
 */
export const pathsOf = (error: ParseResult.ParseError): ReadonlyArray<string> => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  // a path is made of keys: the caller's (extraFields) or the gateway's, so redacted as text (E2)
  const paths = issues.map((i) => i.path.length === 0 ? "(root)" : Redact.string(i.path.map(String).join(".")))
  return Array.from(new Set(paths))
}

const textDecoder = new TextDecoder("utf-8", { fatal: false })

// The client's own secrets (the password and its Basic token), to take out of a gateway's answer.
// A gateway that echoes the client's own password or Authorization value back (in an errormessage,
// a reference, anywhere) has it taken out of the answer before anything reads it: no error, result
// or log line built from the answer can carry it on (E2). Redact cannot know a bare password by its
// content; the client knows its own.
const secretsOf = new WeakMap<Sender, ReadonlyArray<string>>()

// Too short or number-like, a password could also be an ordinary value of the answer: left to Redact.
const SCRUBBABLE = /^(?![\d.eE+-]*$).{6,}$/s

const clientSecrets = (sender: Sender): ReadonlyArray<string> => {
  let secrets = secretsOf.get(sender)
  if (secrets === undefined) {
    const password = Redacted.value(sender.password)
    // as the connection writes the Authorization header
    const token = Buffer.from(`${sender.username}:${password}`, "utf8").toString("base64")
    secrets = [password, token].filter((x, i, all) => SCRUBBABLE.test(x) && all.indexOf(x) === i)
    secretsOf.set(sender, secrets)
  }
  return secrets
}

/** The envelope in an HTTP 200 body, answering `reference` with one item per processed type. */
const envelopeOf = (
  response: ConnectionService.GatewayResponse,
  reference: string,
  requests: Requests1,
  secrets: ReadonlyArray<string>
): Either.Either<Responses.ResponseEnvelope, ResponseError> => {
  // Synchronous on purpose: this runs on every answer (P1), an Either needs no fiber steps.
  const { address } = response
  let json: unknown
  try {
    json = JSON.parse(Redact.withoutSecrets(textDecoder.decode(response.body), secrets))
  } catch {
    return Either.left(new MalformedResponse({ reason: "not-json", paths: [], address, reference }))
  }
  const decoded = Responses.decodeEnvelope(json)
  if (Either.isLeft(decoded)) {
    return Either.left(
      new MalformedResponse({ reason: "not-an-envelope", paths: pathsOf(decoded.left), address, reference })
    )
  }
  const envelope = decoded.right
  const foreign = Responses.foreignReference(envelope, reference)
  if (foreign !== undefined) {
    return Either.left(new ReferenceMismatch({ sent: reference, received: safeGatewayText(foreign), address }))
  }
  // One item per processed type: a chain answers 1..n items; a whole-envelope error answers one.
  const types = requests.reduce((n, r) => n + r.requesttypedescriptions.length, 0)
  const n = envelope.response.length
  const wholeEnvelopeError = n === 1 && envelope.response[0].requesttypedescription === "ERROR"
  if (n === 0 || n > types || (n < requests.length && !wholeEnvelopeError)) {
    return Either.left(new MalformedResponse({ reason: "wrong-number-of-responses", paths: [], address, reference }))
  }
  return Either.right(envelope)
}

/** What came back for one sent envelope: the checked envelope, or why it is not one. */
const answerOf = (
  sender: Sender,
  reference: string,
  requests: Requests1,
  response: ConnectionService.GatewayResponse
): Either.Either<Sent, UnauthenticatedT | ResponseError> => {
  const { address } = response
  // Bad Basic-auth credentials: an HTML 401 page, nothing processed (G2).
  if (response.status === 401) {
    return Either.left(
      new Unauthenticated({
        code: "401",
        username: sender.username,
        reference,
        credentialsFrom: sender.credentialsFrom,
        variables: sender.variables,
        httpStatus: 401
      })
    )
  }
  if (response.status !== 200) {
    return Either.left(new HttpStatusError({ status: response.status, address, reference }))
  }
  return Either.map(envelopeOf(response, reference, requests, clientSecrets(sender)), (envelope) => ({
    reference,
    envelope,
    address,
    attempts: response.attempts,
    elapsedMillis: response.elapsedMillis
  } satisfies Sent))
}

/**
 * Sends one envelope under `reference` and checks its answer (not its errorcodes).
 *
 * @internal
 */
export const sendWith = (
  sender: Sender,
  reference: string,
  requests: Requests1
): Effect.Effect<Sent, SendError> => {
  const { username } = sender
  const body = Envelope.encodeEither(Envelope.make(username, requests), { requestreference: reference })
  if (Either.isLeft(body)) return Effect.fail(new InvalidRequest({ fields: pathsOf(body.left), reference }))
  const send = Effect.flatMap(
    sender.connection.request(wireRequest(body.right, { username, password: sender.password }, reference)),
    (response) => answerOf(sender, reference, requests, response)
  )
  return withSendSpan(send, reference, requests, redactOptions(sender.connection))
}

/**
 * The `GatewayClient.send` span, made (with its attributes) only when a tracer that keeps spans is
 * installed: under Effect's built-in tracer nobody sees it (as the ConnectionService does).
 */
const withSendSpan = <A, E>(
  send: Effect.Effect<A, E>,
  reference: string,
  requests: Requests1,
  redact: Redact.Options
): Effect.Effect<A, E> =>
  Effect.withFiberRuntime((fiber) =>
    fiber.getFiberRef(FiberRef.currentTracerEnabled) &&
      RedactingLogger.recordsSpans(Context.get(fiber.getFiberRef(DefaultServices.currentServices), Tracer.Tracer))
      ? send.pipe(
        Effect.withSpan("GatewayClient.send", {
          // redacted here, so the span is safe under any tracer (E2)
          attributes: Redact.annotations({
            reference,
            requestTypes: requests.map((r) => r.requesttypedescriptions.join("+")).join(",")
          }, redact)
        })
      )
      : send
  )
