/**
 * A chain's response items as one typed result per processed type.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { ChainResult } from "../GatewayClient.js"
import type { ErrorCodeError } from "../GatewayError.js"
import type * as Requests from "../Requests.js"
import * as Responses from "../Responses.js"
import type { Results } from "./results.js"

/**
 * The errorcodes an AUTH or ACCOUNTCHECK answers with: authorised, declined, soft-declined.
 *
 * @internal
 */
export const AUTH_ANSWERS: ReadonlyArray<string> = [Responses.OK, Responses.DECLINE, Responses.SOFT_DECLINE]

/**
 * Reads the items in order; the first one whose errorcode is not an answer for its type fails
 * with `codeError` of it.
 *
 * @internal
 */
export const chainResult = (
  types: Requests.ChainTypes,
  items: ReadonlyArray<Responses.ResponseItem>,
  reference: string,
  results: Results,
  codeError: (item: Responses.ResponseItem) => ErrorCodeError
): Either.Either<ChainResult, ErrorCodeError> => {
  const result: {
    -readonly [K in keyof ChainResult]: ChainResult[K]
  } = { items, reference }
  for (let i = 0; i < items.length; i++) {
    const item = items[i]
    const type = item.requesttypedescription !== undefined && item.requesttypedescription !== "ERROR"
      ? item.requesttypedescription
      : types[i]
    const payment = type === "AUTH" || type === "ACCOUNTCHECK"
    const accepted = payment ? AUTH_ANSWERS.includes(item.errorcode) : item.errorcode === Responses.OK
    if (!accepted) return Either.left(codeError(item))
    switch (type) {
      case "AUTH":
        result.auth = Option.getOrThrow(results.outcome(item, reference, false))
        break
      case "ACCOUNTCHECK":
        result.accountCheck = Option.getOrThrow(results.outcome(item, reference, false))
        break
      case "THREEDQUERY":
        result.threeDQuery = results.threeDQueried(item, reference)
        break
      case "RISKDEC":
        result.riskDec = results.riskDecision(item, reference)
        break
      case "SUBSCRIPTION":
        result.subscription = results.subscribed(item, reference)
        break
    }
  }
  return Either.right(result satisfies ChainResult)
}
