/**
 * How the machinery builds the public result classes: `GatewayClient.ts` defines them and hands
 * their constructors in, so no internal module imports the public one at runtime.
 *
 * @internal
 */
import type * as Option from "effect/Option"
import type { AuthOutcome, RiskDecision, Subscribed, ThreeDQueried } from "../GatewayClient.js"
import type * as Responses from "../Responses.js"

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
