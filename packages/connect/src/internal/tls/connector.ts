/**
 * The `TlsConnector` tag, here so that the live connector and the shipped fake both build on it
 * without importing each other.
 *
 * @internal
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Target, TlsConnection, TrustReport } from "../../TlsConnector.js"
import type { TlsConnectError } from "../../TlsError.js"

/**
 * @since 0.1.0
 * @category tags
 */
export class TlsConnector extends Context.Tag("@stpp/connect/TlsConnector")<TlsConnector, {
  /** TCP connect + verified TLS handshake within connectTimeout; the connection is closed when the Scope closes. */
  readonly connect: (target: Target) => Effect.Effect<TlsConnection, TlsConnectError, Scope.Scope>
  /** S3: what is trusted, the served chain (subject, issuer, notBefore/notAfter, days left) and warnings for anything expiring within 30 days. */
  readonly trustReport: (target: Target) => Effect.Effect<TrustReport, TlsConnectError>
}>() {}
