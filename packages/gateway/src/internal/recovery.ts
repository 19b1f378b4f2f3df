/**
 * `authOrLookup`'s recovery: after an AUTH whose outcome is unknown, a TRANSACTIONQUERY by its
 * order reference instead of a second AUTH, so a payment is never charged twice.
 *
 * @internal
 */
import type * as ConnectionError from "@stpp/connect/ConnectionError"
import * as Redact from "@stpp/connect/Redact"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { AuthInput, AuthOutcome, QueryResult } from "../GatewayClient.js"
import { ContactSupport, isOutcomeUnknown, LookupFailed, PaymentNotFound, safeGatewayText } from "../GatewayError.js"
import type {
  AuthOrLookupError,
  FinalStatusUnknown,
  GatewayError,
  HttpStatusError,
  MalformedResponse,
  ReferenceMismatch
} from "../GatewayError.js"
import type { Results } from "./results.js"

/** @internal */
export type Unknown =
  | ConnectionError.OutcomeUnknown
  | MalformedResponse
  | ReferenceMismatch
  | HttpStatusError
  | FinalStatusUnknown

/** @internal */
export type Query = (orderreference: string) => Effect.Effect<QueryResult, GatewayError>

/**
 * The payment with this order reference, as the lookup found it.
 *
 * @internal
 */
export const lookup = (
  query: Query,
  results: Results,
  input: { readonly orderreference: string },
  unknown: Unknown,
  redact: Redact.Options = {}
): Effect.Effect<AuthOutcome, PaymentNotFound | ContactSupport | LookupFailed> => {
  const reference = unknown._tag === "ReferenceMismatch" ? unknown.sent : unknown.reference
  // The caller's order reference is sent as it is, but redacted in every error and log line (E2).
  const orderreference = Redact.string(input.orderreference, redact)
  return query(input.orderreference).pipe(
    Effect.mapError((lookupError) =>
      new LookupFailed({
        orderreference,
        reference,
        after: unknown._tag,
        lookupError: lookupError._tag,
        lookupMessage: lookupError.message
      })
    ),
    Effect.flatMap((result): Effect.Effect<AuthOutcome, PaymentNotFound | ContactSupport> => {
      // The payment is the AUTH with this order reference (a REFUND of it may share the order reference).
      const payments = result.records.filter((r) =>
        r.requesttypedescription === undefined || r.requesttypedescription === "AUTH"
      )
      const record = payments[payments.length - 1]
      if (record === undefined) {
        return Effect.fail(
          new PaymentNotFound({ orderreference, reference, after: unknown._tag })
        )
      }
      const found = results.outcome(record, result.reference, true)
      if (Option.isSome(found)) return Effect.succeed(found.value)
      // Still "not known" (60010/60034/99999) or any other state the client cannot read as an outcome.
      return Effect.fail(
        new ContactSupport({
          orderreference,
          reference,
          code: record.errorcode === undefined ? "unknown" : safeGatewayText(record.errorcode),
          transactionreference: record.transactionreference === undefined
            ? undefined
            : safeGatewayText(record.transactionreference),
          after: unknown._tag
        })
      )
    }),
    Effect.tap(() =>
      Effect.logWarning("the payment's outcome was unknown; found it by its order reference").pipe(
        Effect.annotateLogs(Redact.annotations({ orderreference, after: unknown._tag }, redact))
      )
    )
  )
}

/**
 * AUTH; an unknown outcome is looked up instead of sent again.
 *
 * @internal
 */
export const authOrLookup = (
  auth: (input: AuthInput) => Effect.Effect<AuthOutcome, GatewayError>,
  query: Query,
  results: Results,
  input: AuthInput & { readonly orderreference: string },
  redact: Redact.Options = {}
): Effect.Effect<AuthOutcome, AuthOrLookupError> =>
  auth(input).pipe(
    Effect.catchTags({
      OutcomeUnknown: (e) => lookup(query, results, input, e, redact),
      MalformedResponse: (e) => lookup(query, results, input, e, redact),
      ReferenceMismatch: (e) => lookup(query, results, input, e, redact),
      FinalStatusUnknown: (e) => lookup(query, results, input, e, redact),
      HttpStatusError: (e) => isOutcomeUnknown(e) ? lookup(query, results, input, e, redact) : Effect.fail(e)
    })
  )
