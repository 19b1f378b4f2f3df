/**
 * The one service applications use: DNS (Resolver), verified TLS (TlsConnector), the retry policy
 * and the redacting logger composed into a request path that never sends a payment twice.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type { RequestError } from "./ConnectionError.js"

/**
 * One HTTP request to the gateway.
 *
 * @since 0.1.0
 * @category models
 */
export interface GatewayRequest {
  /** Default "POST". */
  readonly method?: "POST" | "GET" | undefined
  /** Path relative to the configured url's origin; default: the url's own path. */
  readonly path?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly body?: Uint8Array | string | undefined
  /** HTTP Basic auth; sent as an Authorization header, never logged. */
  readonly auth?: { readonly username: string; readonly password: Redacted.Redacted<string> } | undefined
  /** The request's own reference (e.g. Secure Trading's requestreference), carried into errors and logs. */
  readonly reference?: string | undefined
}

/**
 * The whole response, with what the connection knows about how it was obtained.
 *
 * @since 0.1.0
 * @category models
 */
export interface GatewayResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
  /** The address the request went to. */
  readonly address: string
  /** Connect attempts made for this request (0 when a kept-alive connection was reused). */
  readonly attempts: number
  /** Whether a kept-alive connection was reused. */
  readonly reused: boolean
  readonly elapsedMillis: number
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ConnectionService extends Context.Tag("@stpp/connect/ConnectionService")<ConnectionService, {
  /**
   * Sends one request and returns the whole response. Connect failures are retried by the policy;
   * once a request byte is written nothing is retried (`OutcomeUnknown`).
   */
  readonly request: (request: GatewayRequest) => Effect.Effect<GatewayResponse, RequestError>
  /** The gateway host and port this service talks to. */
  readonly endpoint: { readonly host: string; readonly port: number }
}>() {}
