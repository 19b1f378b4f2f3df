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

/** Where the live connector keeps its `connect` whose socket the caller destroys. */
const OWNED: unique symbol = Symbol.for("@stpp/connect/TlsConnector/owned")

/** @internal */
export interface Owned {
  /** The `connect` this goes with: a connector copied with another `connect` does not use it. */
  readonly connect: TlsConnector["Type"]["connect"]
  /**
   * The same handshake, no `Scope`: the connection's socket is the caller's to destroy. `holder`
   * gets a `discard` that destroys the socket, verified or not, for a caller interrupted before it
   * took the connection.
   */
  readonly connectOwned: (target: Target, holder: Holder) => Effect.Effect<TlsConnection, TlsConnectError>
}

/** @internal */
export interface Holder {
  discard: () => void
}

/** The live connector, with its owned `connect` beside the scoped one. @internal */
export const withOwned = (connector: TlsConnector["Type"], owned: Owned["connectOwned"]): TlsConnector["Type"] =>
  Object.assign(connector, { [OWNED]: { connect: connector.connect, connectOwned: owned } satisfies Owned })

/**
 * The connector's owned `connect`, when it is the live connector's (the ConnectionService's pool
 * closes every socket it holds itself: no `Scope` to make, provide and close per connection).
 *
 * @internal
 */
export const ownedOf = (connector: TlsConnector["Type"]): Owned["connectOwned"] | undefined => {
  const owned = (connector as { readonly [OWNED]?: Owned })[OWNED]
  return owned !== undefined && owned.connect === connector.connect ? owned.connectOwned : undefined
}
