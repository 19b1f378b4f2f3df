/**
 * Verified TLS to one address of the gateway (S1–S4): TCP connect and a TLS 1.2+ handshake whose
 * chain is checked to a trusted root and whose certificate is checked for the gateway's host name,
 * sent as SNI, all inside the connect-attempt time-out. Nothing turns verification off. Each way
 * the handshake can fail is its own error; the certificate and protocol refusals are never retried,
 * and the socket of a refused handshake is destroyed before the caller could write to it.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Duplex } from "node:stream"
import { ConnectionConfig } from "./ConnectionConfig.js"
import type { TrustStore } from "./ConnectionConfig.js"
import { TlsConnector, withOwned } from "./internal/tls/connector.js"
import * as Handshake from "./internal/tls/handshake.js"
import * as Report from "./internal/tls/report.js"
import * as Sessions from "./internal/tls/sessions.js"
import * as Trust from "./internal/tls/trust.js"
import * as TlsError from "./TlsError.js"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * Where to connect: the address DNS chose, the port, and the host name the certificate must name
 * (sent as SNI).
 *
 * @since 0.1.0
 * @category models
 */
export interface Target {
  readonly address: string
  readonly port: number
  readonly servername: string
}

/**
 * A verified TLS connection; HTTP runs over `socket`. Closed when the scope it was opened in closes.
 *
 * @since 0.1.0
 * @category models
 */
export interface TlsConnection {
  /** A `tls.TLSSocket` when live; an in-memory socket under `layerTest`. */
  readonly socket: Duplex
  /** Application bytes handed to the socket since the handshake finished ("was anything sent?", R3). */
  readonly bytesWritten: () => number
  readonly address: string
  readonly port: number
  readonly servername: string
  /** The negotiated protocol, e.g. "TLSv1.3". */
  readonly protocol: string | null
  /** The negotiated cipher suite, e.g. "TLS_AES_256_GCM_SHA384". */
  readonly cipher: string | null
  /** TCP connect plus handshake, by `Clock`. */
  readonly connectMillis: number
  /**
   * Whether the handshake resumed a session of an earlier verified connection to the same host
   * name, address, port and trust store (P3); absent from connectors that do not say.
   */
  readonly resumed?: boolean | undefined
}

/**
 * One certificate in a trust report.
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificateInfo {
  /** e.g. "CN=webservices.securetrading.net, O=..." */
  readonly subject: string
  readonly issuer: string
  readonly serialNumber: string
  readonly fingerprint256: string
  readonly notBefore: Date
  readonly notAfter: Date
  /** Whole days from the report's time to `notAfter` (negative once expired). */
  readonly daysLeft: number
  readonly isCa: boolean
  /** Whether this very certificate is in the trust store. */
  readonly inTrustStore: boolean
}

/**
 * Something a yearly CA review should act on (S3).
 *
 * @since 0.1.0
 * @category models
 */
export interface TrustWarning {
  readonly subject: string
  readonly notAfter: Date
  readonly daysLeft: number
  /** "served-chain", "trust-anchor" or "ca-file". */
  readonly where: "served-chain" | "trust-anchor" | "ca-file"
  readonly message: string
}

/**
 * What is trusted and what a host serves (S3): the `doctor` command prints this.
 *
 * @since 0.1.0
 * @category models
 */
export interface TrustReport {
  readonly host: string
  readonly address: string
  readonly port: number
  readonly checkedAt: Date
  readonly protocol: string | null
  readonly cipher: string | null
  readonly trustStore: {
    readonly kind: TrustStore
    /** The system bundle file, for `system`. */
    readonly systemBundle: string | undefined
    /** Roots from Node's or the system's bundle (not listed one by one). */
    readonly bundledRoots: number
    /** The extra roots from `caFiles`, each with its expiry. */
    readonly caFiles: ReadonlyArray<{ readonly path: string; readonly certificates: ReadonlyArray<CertificateInfo> }>
  }
  /** The verified chain, leaf first, ending with the trusted root that anchors it. */
  readonly chain: ReadonlyArray<CertificateInfo>
  /** The trusted root this host's chain ends at. */
  readonly anchor: CertificateInfo | undefined
  /** Anything in the chain, its anchor or the extra roots that expires within `WARN_DAYS` days. */
  readonly warnings: ReadonlyArray<TrustWarning>
}

/**
 * Certificates that expire within this many days are warned about in a trust report.
 *
 * @since 0.1.0
 * @category models
 */
export const WARN_DAYS: number = Report.WARN_DAYS

/**
 * The errors, also importable from `TlsError`.
 *
 * @since 0.1.0
 */
export * from "./TlsError.js"

// -----------------------------------------------------------------------------
// service
// -----------------------------------------------------------------------------

export {
  /**
   * @since 0.1.0
   * @category tags
   */
  TlsConnector
} from "./internal/tls/connector.js"

/**
 * What the connector needs: the trust store and the connect-attempt time-out.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly trustStore: TrustStore
  readonly caFiles: ReadonlyArray<string>
  readonly connectTimeout: Duration.DurationInput
  /**
   * TLS sessions kept for resumption (P3), one per host name, address and port; 0: every
   * connection a full handshake. Default `100`, as Node's `https.Agent`.
   */
  readonly sessionCache?: number | undefined
}

/**
 * The live connector from explicit options (the `doctor` command builds one this way).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeWith = (options: Options): Effect.Effect<TlsConnector["Type"], TlsError.TrustStoreError> =>
  Effect.gen(function*() {
    const store = yield* Trust.load(options.trustStore, options.caFiles).pipe(
      Effect.mapError((f) => new TlsError.TrustStoreError({ path: f.path, reason: f.problem }))
    )
    const timeout = Duration.decode(options.connectTimeout)
    const entries = options.sessionCache ?? Sessions.DEFAULT_ENTRIES
    // P3: one cache per connector, so per trust store; the trust report never uses it (it needs the
    // served chain, which a resumed handshake does not show)
    const cache = entries > 0 ? new Sessions.SessionCache(entries) : undefined
    const connect = (target: Target) =>
      Effect.map(Handshake.handshake(target, store, timeout, cache), (h) => h.connection)
    const trustReport = (target: Target): Effect.Effect<TrustReport, TlsError.TlsConnectError> =>
      Effect.scoped(
        Effect.flatMap(
          Handshake.handshake(target, store, timeout),
          (handshaken) =>
            Effect.map(
              Clock.currentTimeMillis,
              (now) => Report.build(target, handshaken.connection, handshaken.chain(), now, store)
            )
        )
      )
    return withOwned(
      TlsConnector.of({ connect, trustReport }),
      (target, holder) => Handshake.connectOwned(target, store, timeout, cache, holder)
    )
  })

/**
 * The live connector from `ConnectionConfig` (trustStore, caFiles, connectTimeout, tlsSessionCache).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<TlsConnector["Type"], TlsError.TrustStoreError, ConnectionConfig> = Effect.flatMap(
  ConnectionConfig,
  (settings) =>
    makeWith({
      trustStore: settings.trustStore,
      caFiles: settings.caFiles,
      connectTimeout: settings.connectTimeout,
      sessionCache: settings.tlsSessionCache
    })
)

/**
 * The live connector; a missing or empty CA file fails here, at start.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<TlsConnector, TlsError.TrustStoreError, ConnectionConfig> = Layer.effect(
  TlsConnector,
  make
)

// -----------------------------------------------------------------------------
// test (kept here for existing imports; the fake lives in TestTlsConnector)
// -----------------------------------------------------------------------------

export {
  /**
   * @since 0.1.0
   * @category test
   * @deprecated import it from `TestTlsConnector`
   */
  layerTest,
  /**
   * @since 0.1.0
   * @category test
   * @deprecated import it from `TestTlsConnector`
   */
  TestTlsConnector
} from "./TestTlsConnector.js"

export type {
  /**
   * @since 0.1.0
   * @category test
   * @deprecated import it from `TestTlsConnector`
   */
  Step,
  /**
   * @since 0.1.0
   * @category test
   * @deprecated import it from `TestTlsConnector`
   */
  TestCall,
  /**
   * @since 0.1.0
   * @category test
   * @deprecated import it from `TestTlsConnector`
   */
  TestServerSide
} from "./TestTlsConnector.js"
