/**
 * A response item's non-zero errorcode as its typed error.
 *
 * @internal
 */
import {
  FinalStatusUnknown,
  GatewayFailure,
  InvalidField,
  MalformedRequest,
  RequestRejected,
  safeGatewayText,
  Unauthenticated,
  UpstreamUnavailable
} from "../GatewayError.js"
import type { ErrorCodeError, RejectionReason } from "../GatewayError.js"
import * as Requests from "../Requests.js"
import * as Responses from "../Responses.js"

/** How the client was given its credentials, named in an `Unauthenticated` error's advice. */
export type CredentialsFrom = "config" | "code"

/** The variable names credentials were read from (`credentialsConfig`, also under a prefix). */
export interface Variables {
  readonly username: string
  readonly password: string
}

const requestTypeOf = (item: Responses.ResponseItem): string | undefined =>
  item.requesttypedescription === undefined || item.requesttypedescription === "ERROR"
    ? undefined
    : safeGatewayText(item.requesttypedescription)

/** The documented field names in `errordata`; anything else there is the gateway's text, never repeated. */
const knownFields = (errordata: ReadonlyArray<string> | undefined): ReadonlyArray<string> =>
  (errordata ?? []).filter((f) => Requests.KNOWN_FIELDS.has(f))

const gatewayText = (item: Responses.ResponseItem, fallback: string): string =>
  safeGatewayText(typeof item.errormessage === "string" ? item.errormessage : fallback)

/**
 * Maps a non-zero errorcode (other than the ones a caller accepts as answers) to its error.
 *
 * @internal
 */
export const codeError = (
  item: Responses.ResponseItem,
  reference: string,
  username: string,
  credentialsFrom: CredentialsFrom,
  variables?: Variables | undefined
): ErrorCodeError => {
  // The gateway's own text: a known code is unchanged, anything else is masked and cut (E2).
  const code = safeGatewayText(item.errorcode)
  const requestType = requestTypeOf(item)
  if (code === Responses.INVALID_FIELD) {
    const fields = knownFields(Array.isArray(item.errordata) ? item.errordata : undefined)
    return new InvalidField({
      code,
      field: fields.length > 0 ? fields.join(", ") : "unknown",
      fields,
      requestType,
      reference
    })
  }
  if (code === Responses.UNAUTHENTICATED) {
    return new Unauthenticated({ code, username, reference, credentialsFrom, variables })
  }
  if (Responses.isFinalStatusUnknown(code)) {
    return new FinalStatusUnknown({
      code,
      errormessage: gatewayText(item, ""),
      requestType,
      reference,
      transactionreference: item.transactionreference === undefined
        ? undefined
        : safeGatewayText(item.transactionreference)
    })
  }
  if (code === Responses.MALFORMED_JSON) return new MalformedRequest({ code, reference })
  const rejection = Responses.REJECTIONS[code]
  if (rejection !== undefined) {
    return new RequestRejected({
      code,
      reason: rejection.reason as RejectionReason,
      meaning: rejection.meaning,
      requestType,
      reference
    })
  }
  if (Responses.isUpstreamCode(code)) return new UpstreamUnavailable({ code, requestType, reference })
  return new GatewayFailure({ code, errormessage: gatewayText(item, ""), requestType, reference })
}
