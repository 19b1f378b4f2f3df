/**
 * The client's methods over one connection: each builds its request with a fresh reference and
 * the configured site reference, sends it, and reads the answer's errorcodes as results or errors.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type {
  AuthInput,
  AuthOutcome,
  ChainResult,
  GatewayClient,
  QueryFilter,
  QueryResult,
  RequestTypeError
} from "../GatewayClient.js"
import { InvalidRequest } from "../GatewayError.js"
import type { GatewayError, InvalidRequest as InvalidRequestT } from "../GatewayError.js"
import * as Requests from "../Requests.js"
import * as Responses from "../Responses.js"
import { AUTH_ANSWERS, chainResult } from "./chain.js"
import { codeError } from "./errorCode.js"
import * as Recovery from "./recovery.js"
import type { Results } from "./results.js"
import type { Sender } from "./send.js"
import { redactOptions, sendWith } from "./send.js"
import { makeReference } from "./wire.js"

/**
 * What the methods share: the sender, the default site reference and the result constructors.
 *
 * @internal
 */
export interface Client extends Sender {
  readonly sitereference: string | undefined
  readonly results: Results
}

const missingSite = (reference: string) =>
  Effect.fail(new InvalidRequest({ fields: ["sitereference (set STPP_SITE_REFERENCE)"], reference }))

const withSite = <R extends { readonly sitereference?: string | undefined }>(
  client: Client,
  input: R,
  reference: string
): Effect.Effect<R & { readonly sitereference: string }, InvalidRequestT> => {
  const site = input.sitereference ?? client.sitereference
  return site === undefined
    ? missingSite(reference)
    : Effect.succeed({ ...input, sitereference: site })
}

/** One request, its single response item; a non-zero errorcode other than `accept` fails. */
const one = (
  client: Client,
  reference: string,
  request: Requests.Request,
  accept: ReadonlyArray<string> = [Responses.OK]
): Effect.Effect<Responses.ResponseItem, RequestTypeError> =>
  Effect.flatMap(sendWith(client, reference, [request]), (sent) => {
    const item = sent.envelope.response[0]
    return accept.includes(item.errorcode)
      ? Effect.succeed(item)
      : Effect.fail(codeError(item, reference, client.username, client.credentialsFrom, client.variables))
  })

const authLike = (
  client: Client,
  type: "AUTH" | "ACCOUNTCHECK",
  input: AuthInput
): Effect.Effect<AuthOutcome, GatewayError> =>
  // flatMap rather than a generator: this is every payment's path (P1)
  Effect.flatMap(makeReference, (reference) => {
    const site = input.sitereference ?? client.sitereference
    if (site === undefined) return missingSite(reference)
    const request = { ...input, sitereference: site, requesttypedescriptions: [type] } as
      | Requests.Auth
      | Requests.AccountCheck
    return Effect.map(
      one(client, reference, request, AUTH_ANSWERS),
      (item) => Option.getOrThrow(client.results.outcome(item, reference, false))
    )
  })

const simple = <R extends { readonly sitereference?: string | undefined }, A>(
  client: Client,
  type: "REFUND" | "THREEDQUERY" | "RISKDEC" | "SUBSCRIPTION",
  input: R,
  result: (item: Responses.ResponseItem, reference: string) => A
): Effect.Effect<A, GatewayError> =>
  Effect.gen(function*() {
    const reference = yield* makeReference
    const full = yield* withSite(client, input, reference)
    const item = yield* one(
      client,
      reference,
      { ...full, requesttypedescriptions: [type] } as unknown as Requests.Request
    )
    return result(item, reference)
  })

const isSearchable = (filter: Requests.Filter): boolean =>
  Object.entries(filter).some(([k, v]) => k !== "sitereference" && Array.isArray(v) && v.length > 0)

const filterOf = (
  client: Client,
  plain: QueryFilter,
  reference: string
): Effect.Effect<Requests.Filter, InvalidRequestT> => {
  const filter = Requests.toFilter(plain)
  if (!isSearchable(filter)) {
    return Effect.fail(
      new InvalidRequest({
        fields: [
          `filter (at least one of ${Requests.FILTER_FIELDS.filter((f) => f !== "sitereference").join(", ")})`
        ],
        reference
      })
    )
  }
  return Effect.succeed(
    filter.sitereference === undefined && client.sitereference !== undefined
      ? { ...filter, sitereference: Requests.filterValue(client.sitereference) }
      : filter
  )
}

const transactionQuery = (client: Client, plain: QueryFilter): Effect.Effect<QueryResult, GatewayError> =>
  Effect.gen(function*() {
    const reference = yield* makeReference
    const filter = yield* filterOf(client, plain, reference)
    const item = yield* one(client, reference, { requesttypedescriptions: ["TRANSACTIONQUERY"], filter })
    const records = item.records ?? []
    const found = item.found !== undefined && /^\d+$/.test(item.found) ? Number(item.found) : records.length
    return { found, records, reference } satisfies QueryResult
  })

const transactionUpdate = (
  client: Client,
  input: Parameters<GatewayClient["Type"]["transactionUpdate"]>[0]
): Effect.Effect<Responses.ResponseItem, GatewayError> =>
  Effect.gen(function*() {
    const reference = yield* makeReference
    const filter = yield* filterOf(client, input.filter, reference)
    const request: Requests.TransactionUpdate = {
      requesttypedescriptions: ["TRANSACTIONUPDATE"],
      filter,
      updates: input.updates,
      ...(input.extraFields === undefined ? {} : { extraFields: input.extraFields })
    }
    return yield* one(client, reference, request)
  })

const chain = (
  client: Client,
  types: Requests.ChainTypes,
  input: Parameters<GatewayClient["Type"]["chain"]>[1]
): Effect.Effect<ChainResult, GatewayError> =>
  Effect.gen(function*() {
    const reference = yield* makeReference
    const full = yield* withSite(client, input, reference)
    const request = { ...full, requesttypedescriptions: types } as Requests.Chain
    const sent = yield* sendWith(client, reference, [request])
    return yield* chainResult(
      types,
      sent.envelope.response,
      reference,
      client.results,
      (item) => codeError(item, reference, client.username, client.credentialsFrom, client.variables)
    )
  })

/**
 * The service value.
 *
 * @internal
 */
export const make = (client: Client): GatewayClient["Type"] => {
  const { results } = client
  const auth = (input: AuthInput) => authLike(client, "AUTH", input)
  const lookupAfterOutcomeUnknown = (orderreference: string) => transactionQuery(client, { orderreference })
  return {
    send: (requests) => Effect.flatMap(makeReference, (reference) => sendWith(client, reference, requests)),
    auth,
    accountCheck: (input) => authLike(client, "ACCOUNTCHECK", input),
    refund: (input) => simple(client, "REFUND", input, (item) => item),
    transactionQuery: (filter) => transactionQuery(client, filter),
    transactionUpdate: (input) => transactionUpdate(client, input),
    threeDQuery: (input) => simple(client, "THREEDQUERY", input, results.threeDQueried),
    riskDec: (input) => simple(client, "RISKDEC", input, results.riskDecision),
    subscription: (input) => simple(client, "SUBSCRIPTION", input, results.subscribed),
    chain: (types, input) => chain(client, types, input),
    lookupAfterOutcomeUnknown,
    authOrLookup: (input) =>
      Recovery.authOrLookup(auth, lookupAfterOutcomeUnknown, results, input, redactOptions(client.connection))
  }
}
