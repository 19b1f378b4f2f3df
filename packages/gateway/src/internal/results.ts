/**
 * How the machinery builds the public result classes: `GatewayClient.ts` defines them and hands
 * their constructors in, so no internal module imports the public one at runtime.
 *
 * @internal
 */
import * as Option from "effect/Option"
import type {
  Authorised,
  AuthOutcome,
  Declined,
  RiskDecision,
  SoftDeclined,
  Subscribed,
  ThreeDQueried
} from "../GatewayClient.js"
import { safeGatewayText } from "../GatewayError.js"
import * as Responses from "../Responses.js"

/** @internal */
export interface Results {
  /** Authorised, Declined or SoftDeclined for errorcodes 0, 70000 and 71000; none otherwise. */
  readonly outcome: (
    item: Responses.ResponseItem | Responses.TransactionRecord,
    reference: string,
    recovered: boolean
  ) => Option.Option<AuthOutcome>
  readonly threeDQueried: (item: Responses.ResponseItem, reference: string) => ThreeDQueried
  readonly riskDecision: (item: Responses.ResponseItem, reference: string) => RiskDecision
  readonly subscribed: (item: Responses.ResponseItem, reference: string) => Subscribed
}

/** @internal */
export interface Classes {
  readonly Authorised: typeof Authorised
  readonly Declined: typeof Declined
  readonly SoftDeclined: typeof SoftDeclined
  readonly ThreeDQueried: typeof ThreeDQueried
  readonly RiskDecision: typeof RiskDecision
  readonly Subscribed: typeof Subscribed
}

const outcomeOf = (classes: Classes) =>
(
  item: Responses.ResponseItem | Responses.TransactionRecord,
  reference: string,
  recovered: boolean
): Option.Option<AuthOutcome> => {
  if (item.errorcode === Responses.OK) {
    return Option.some(
      new classes.Authorised({
        transactionreference: item.transactionreference,
        authcode: typeof item.authcode === "string" ? item.authcode : undefined,
        maskedpan: item.maskedpan,
        settlestatus: item.settlestatus,
        reference,
        recovered,
        response: item
      })
    )
  }
  if (item.errorcode === Responses.DECLINE) {
    return Option.some(
      new classes.Declined({
        transactionreference: item.transactionreference,
        acquirerresponsecode: typeof item.acquirerresponsecode === "string" ? item.acquirerresponsecode : undefined,
        errormessage: safeGatewayText(typeof item.errormessage === "string" ? item.errormessage : "Decline"),
        reference,
        recovered,
        response: item
      })
    )
  }
  if (item.errorcode === Responses.SOFT_DECLINE) {
    return Option.some(
      new classes.SoftDeclined({
        transactionreference: item.transactionreference,
        errormessage: safeGatewayText(typeof item.errormessage === "string" ? item.errormessage : "Soft Decline"),
        reference,
        recovered,
        response: item
      })
    )
  }
  return Option.none()
}

/** @internal */
export const make = (classes: Classes): Results => ({
  outcome: outcomeOf(classes),
  threeDQueried: (item, reference) =>
    new classes.ThreeDQueried({
      enrolled: item.enrolled,
      acsurl: item.acsurl,
      threedpayload: item.threedpayload,
      pareq: item.pareq,
      md: item.md,
      threedversion: item.threedversion,
      transactionreference: item.transactionreference,
      reference,
      response: item
    }),
  riskDecision: (item, reference) =>
    new classes.RiskDecision({
      shieldstatus: item.fraudcontrolshieldstatuscode,
      fraudcontrolresponsecode: item.fraudcontrolresponsecode,
      fraudcontrolreference: item.fraudcontrolreference,
      transactionreference: item.transactionreference,
      reference,
      response: item
    }),
  subscribed: (item, reference) =>
    new classes.Subscribed({
      transactionreference: item.transactionreference,
      parenttransactionreference: item.parenttransactionreference,
      subscriptionnumber: item.subscriptionnumber,
      reference,
      response: item
    })
})
