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
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Net from "node:net"
import type { Duplex } from "node:stream"
import * as NodeTls from "node:tls"
import { ConnectionConfig, MAX_CA_FILE_BYTES } from "./ConnectionConfig.js"
import type { TrustStore } from "./ConnectionConfig.js"
import * as TestSocket from "./internal/tlsTest.js"
import * as Trust from "./internal/tlsTrust.js"

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
export const WARN_DAYS = 30

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

const day = (d: Date): string => (Number.isNaN(d.getTime()) ? "an unknown date" : d.toISOString().slice(0, 10))
const at = (e: { readonly address: string; readonly port: number }): string => `${e.address}:${e.port}`

/**
 * The server's certificate (or one in its chain) has expired.
 *
 * @since 0.1.0
 * @category errors
 */
export class CertificateExpired extends Data.TaggedError("CertificateExpired")<{
  readonly host: string
  readonly address: string
  readonly port: number
  readonly subject: string
  readonly notAfter: Date
  /** 0 for the server's own certificate, 1 for the first intermediate, ... */
  readonly depth: number
  /** The chain the server sent, as read during the refused handshake (`stpp doctor` shows it). */
  readonly served?: ReadonlyArray<CertificateInfo> | undefined
}> {
  get message(): string {
    return this.depth === 0
      ? `certificate for ${this.host} expired on ${day(this.notAfter)} (served by ${at(this)})`
      : `the certificate "${this.subject}" in the chain served for ${this.host} by ${at(this)} expired on ${
        day(this.notAfter)
      }`
  }
}

/**
 * The server's certificate (or one in its chain) is not valid yet: a certificate installed too
 * early, or this machine's clock is behind.
 *
 * @since 0.1.0
 * @category errors
 */
export class CertificateNotYetValid extends Data.TaggedError("CertificateNotYetValid")<{
  readonly host: string
  readonly address: string
  readonly port: number
  readonly subject: string
  readonly notBefore: Date
  readonly depth: number
  /** The chain the server sent, as read during the refused handshake (`stpp doctor` shows it). */
  readonly served?: ReadonlyArray<CertificateInfo> | undefined
}> {
  get message(): string {
    const what = this.depth === 0
      ? `certificate for ${this.host}`
      : `the certificate "${this.subject}" served for ${this.host}`
    return `${what} is not valid until ${day(this.notBefore)} (served by ${at(this)}); check this machine's clock`
  }
}

/**
 * The chain does not lead to a trusted root. `likelyCause` says which of the usual reasons fits:
 * the server sends its certificate without the intermediate, or the chain comes from a CA that is
 * not in the trust store.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownIssuer extends Data.TaggedError("UnknownIssuer")<{
  readonly host: string
  readonly address: string
  readonly port: number
  /** The issuer that could not be found in the trust store. */
  readonly issuer: string
  readonly likelyCause: "missing-intermediate" | "untrusted-ca"
  /** The OpenSSL verification code, e.g. "UNABLE_TO_VERIFY_LEAF_SIGNATURE". */
  readonly code: string
  /** The chain the server sent, as read during the refused handshake (`stpp doctor` shows it). */
  readonly served?: ReadonlyArray<CertificateInfo> | undefined
}> {
  get message(): string {
    return this.likelyCause === "missing-intermediate"
      ? `certificate for ${this.host} (served by ${
        at(this)
      }) cannot be verified: its issuer "${this.issuer}" was not sent; the server is most likely missing its intermediate certificate`
      : `certificate for ${this.host} (served by ${
        at(this)
      }) is issued by "${this.issuer}", which is not in the trust store (an untrusted CA, or an intermediate certificate is missing)`
  }
}

/**
 * The server's certificate is self-signed (no CA vouches for it).
 *
 * @since 0.1.0
 * @category errors
 */
export class SelfSignedCertificate extends Data.TaggedError("SelfSignedCertificate")<{
  readonly host: string
  readonly address: string
  readonly port: number
  readonly subject: string
  /** The chain the server sent, as read during the refused handshake (`stpp doctor` shows it). */
  readonly served?: ReadonlyArray<CertificateInfo> | undefined
}> {
  get message(): string {
    return `certificate for ${this.host} (served by ${
      at(this)
    }) is self-signed ("${this.subject}"), not issued by a trusted CA`
  }
}

/**
 * The certificate is valid but for other names.
 *
 * @since 0.1.0
 * @category errors
 */
export class HostnameMismatch extends Data.TaggedError("HostnameMismatch")<{
  readonly host: string
  readonly address: string
  readonly port: number
  /** The names the certificate is for, e.g. ["DNS:other.example"]. */
  readonly names: ReadonlyArray<string>
  /** The chain the server sent, as read during the refused handshake (`stpp doctor` shows it). */
  readonly served?: ReadonlyArray<CertificateInfo> | undefined
}> {
  get message(): string {
    const names = this.names.length === 0 ? "no host name" : this.names.join(", ")
    return `certificate served by ${at(this)} is not for ${this.host}: it names ${names}`
  }
}

/**
 * Any other reason the verifier rejected the chain (bad signature, wrong key usage, weak key,
 * path too long, ...), by its OpenSSL code.
 *
 * @since 0.1.0
 * @category errors
 */
export class CertificateRejected extends Data.TaggedError("CertificateRejected")<{
  readonly host: string
  readonly address: string
  readonly port: number
  readonly code: string
  /** The chain the server sent, as read during the refused handshake (`stpp doctor` shows it). */
  readonly served?: ReadonlyArray<CertificateInfo> | undefined
}> {
  get message(): string {
    return `certificate for ${this.host} (served by ${at(this)}) was rejected: ${this.code}`
  }
}

/**
 * The server offers only a protocol below TLS 1.2 or only weak cipher suites, or does not speak
 * TLS at all.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProtocolRefused extends Data.TaggedError("ProtocolRefused")<{
  readonly host: string
  readonly address: string
  readonly port: number
  readonly reason: "protocol-version" | "cipher" | "not-tls" | "handshake-failure"
  /** The OpenSSL code, e.g. "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION". */
  readonly code: string
}> {
  get message(): string {
    switch (this.reason) {
      case "protocol-version":
        return `${this.host} (${at(this)}) offers only a TLS version older than 1.2; refused`
      case "cipher":
        return `${this.host} (${at(this)}) offers no cipher suite this client accepts (only weak ones); refused`
      case "not-tls":
        return `${this.host} (${at(this)}) does not speak TLS on this port; refused`
      case "handshake-failure":
        return `TLS handshake with ${this.host} (${at(this)}) failed (${this.code}); refused`
    }
  }
}

/**
 * The host name given for SNI and verification is an IP address: SNI cannot carry it (S1).
 *
 * @since 0.1.0
 * @category errors
 */
export class ServernameRequired extends Data.TaggedError("ServernameRequired")<{
  readonly host: string
  readonly address: string
  readonly port: number
}> {
  get message(): string {
    return `refusing to connect to ${
      at(this)
    } as "${this.host}": the gateway must be named by its host name (SNI), not an IP address`
  }
}

/**
 * TCP connected but the handshake did not finish within the connect time-out. Nothing was sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class HandshakeTimeout extends Data.TaggedError("HandshakeTimeout")<{
  readonly host: string
  readonly address: string
  readonly port: number
  readonly timeoutMillis: number
}> {
  get message(): string {
    return `TLS handshake with ${this.host} (${at(this)}) did not finish within ${this.timeoutMillis} ms`
  }
}

/**
 * Nothing listens on the port (TCP RST to the SYN).
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectRefused extends Data.TaggedError("ConnectRefused")<{
  readonly host: string
  readonly address: string
  readonly port: number
}> {
  get message(): string {
    return `connection to ${this.host} (${at(this)}) was refused`
  }
}

/**
 * The connection was reset or closed before the handshake finished.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectReset extends Data.TaggedError("ConnectReset")<{
  readonly host: string
  readonly address: string
  readonly port: number
  readonly phase: "tcp" | "handshake"
}> {
  get message(): string {
    return this.phase === "tcp"
      ? `connection to ${this.host} (${at(this)}) was reset while connecting`
      : `connection to ${this.host} (${at(this)}) was closed by the server during the TLS handshake`
  }
}

/**
 * TCP did not connect within the connect time-out.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectTimeout extends Data.TaggedError("ConnectTimeout")<{
  readonly host: string
  readonly address: string
  readonly port: number
  readonly timeoutMillis: number
}> {
  get message(): string {
    return `TCP connection to ${this.host} (${at(this)}) did not open within ${this.timeoutMillis} ms`
  }
}

/**
 * Any other network failure before the handshake finished.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectFailed extends Data.TaggedError("ConnectFailed")<{
  readonly host: string
  readonly address: string
  readonly port: number
  readonly reason: "host-unreachable" | "network-unreachable" | "address-unavailable" | "not-permitted" | "other"
  /** The system's code, e.g. "EHOSTUNREACH", when there is one. */
  readonly code: string | undefined
  readonly phase: "tcp" | "handshake"
}> {
  get message(): string {
    const why = this.reason === "other" ? (this.code ?? "a network error") : this.reason.replace(/-/g, " ")
    return `connection to ${this.host} (${at(this)}) failed: ${why}`
  }
}

/**
 * The trust store could not be read at start (S2): a `STPP_CA_FILE` that is missing, unreadable,
 * holds no certificate or a certificate that is not a CA, or no system bundle was found.
 *
 * @since 0.1.0
 * @category errors
 */
export class TrustStoreError extends Data.TaggedError("TrustStoreError")<{
  readonly path: string | undefined
  readonly reason: Trust.TrustStoreProblem
}> {
  get message(): string {
    switch (this.reason) {
      case "not-found":
        return `STPP_CA_FILE: ${this.path} does not exist`
      case "unreadable":
        return `STPP_CA_FILE: ${this.path} cannot be read`
      case "not-a-file":
        return `STPP_CA_FILE: ${this.path} is not a regular file; allowed: a PEM file (not a device, FIFO or directory)`
      case "too-large":
        return `STPP_CA_FILE: ${this.path} is larger than the limit of ${MAX_CA_FILE_BYTES} bytes; allowed: a PEM file of CA roots`
      case "no-certificate":
        return `STPP_CA_FILE: ${this.path} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`
      case "invalid-certificate":
        return `STPP_CA_FILE: ${this.path} holds a PEM block that is not a valid certificate`
      case "not-a-ca":
        return `STPP_CA_FILE: ${this.path} holds a certificate that is not a CA; give the issuing CA's root, not a server certificate`
      case "no-system-bundle":
        return `STPP_TRUST_STORE: "system" but no system CA bundle was found (looked in ${
          Trust.SYSTEM_BUNDLES.join(", ")
        }); allowed: node, or only with STPP_CA_FILE`
    }
  }
}

/**
 * The certificate and protocol refusals: never retried, nothing was sent (S4).
 *
 * @since 0.1.0
 * @category errors
 */
export type TlsVerificationError =
  | CertificateExpired
  | CertificateNotYetValid
  | UnknownIssuer
  | SelfSignedCertificate
  | HostnameMismatch
  | CertificateRejected
  | ProtocolRefused
  | ServernameRequired

/**
 * TCP failures: retryable, nothing was sent.
 *
 * @since 0.1.0
 * @category errors
 */
export type TcpError = ConnectRefused | ConnectReset | ConnectTimeout | ConnectFailed

/**
 * Every connect-phase failure that is retried like any connect failure (S4, R3): nothing was sent.
 *
 * @since 0.1.0
 * @category errors
 */
export type ConnectPhaseError = TcpError | HandshakeTimeout

/**
 * @since 0.1.0
 * @category errors
 */
export type TlsConnectError = TlsVerificationError | ConnectPhaseError

/**
 * @since 0.1.0
 * @category refinements
 */
export const isVerificationError = (u: unknown): u is TlsVerificationError =>
  u instanceof CertificateExpired || u instanceof CertificateNotYetValid || u instanceof UnknownIssuer ||
  u instanceof SelfSignedCertificate || u instanceof HostnameMismatch || u instanceof CertificateRejected ||
  u instanceof ProtocolRefused || u instanceof ServernameRequired

/**
 * The failures that may be retried: nothing was sent and no security check refused the server.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isRetryable = (u: unknown): u is ConnectPhaseError =>
  u instanceof ConnectRefused || u instanceof ConnectReset || u instanceof ConnectTimeout ||
  u instanceof ConnectFailed || u instanceof HandshakeTimeout

/**
 * @since 0.1.0
 * @category refinements
 */
export const isTlsConnectError = (u: unknown): u is TlsConnectError => isVerificationError(u) || isRetryable(u)

// -----------------------------------------------------------------------------
// service
// -----------------------------------------------------------------------------

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

// -----------------------------------------------------------------------------
// error mapping
// -----------------------------------------------------------------------------

type Phase = "tcp" | "handshake"

const VERIFY_CODES: ReadonlySet<string> = new Set([
  "UNABLE_TO_GET_CRL",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "UNABLE_TO_DECRYPT_CRL_SIGNATURE",
  "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
  "CERT_SIGNATURE_FAILURE",
  "CRL_SIGNATURE_FAILURE",
  "CRL_NOT_YET_VALID",
  "CRL_HAS_EXPIRED",
  "ERROR_IN_CERT_NOT_BEFORE_FIELD",
  "ERROR_IN_CERT_NOT_AFTER_FIELD",
  "ERROR_IN_CRL_LAST_UPDATE_FIELD",
  "ERROR_IN_CRL_NEXT_UPDATE_FIELD",
  "OUT_OF_MEM",
  "CERT_CHAIN_TOO_LONG",
  "CERT_REVOKED",
  "INVALID_CA",
  "PATH_LENGTH_EXCEEDED",
  "INVALID_PURPOSE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "HOSTNAME_MISMATCH",
  "EE_KEY_TOO_SMALL",
  "CA_KEY_TOO_SMALL",
  "CA_MD_TOO_WEAK",
  "INVALID_CALL",
  "STORE_LOOKUP",
  "UNSPECIFIED"
])

const PROTOCOL_VERSION_CODES: ReadonlySet<string> = new Set([
  "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION",
  "ERR_SSL_UNSUPPORTED_PROTOCOL",
  "ERR_SSL_NO_PROTOCOLS_AVAILABLE",
  "ERR_SSL_VERSION_TOO_LOW",
  "ERR_SSL_UNKNOWN_PROTOCOL",
  "ERR_SSL_UNSUPPORTED_SSL_VERSION"
])

const CIPHER_CODES: ReadonlySet<string> = new Set([
  "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE",
  "ERR_SSL_NO_SHARED_CIPHER",
  "ERR_SSL_NO_CIPHERS_AVAILABLE",
  "ERR_SSL_TLSV1_ALERT_INSUFFICIENT_SECURITY",
  "ERR_SSL_DH_KEY_TOO_SMALL",
  "ERR_SSL_WRONG_CIPHER_RETURNED",
  "ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM",
  "ERR_SSL_NO_SUITABLE_KEY_SHARE"
])

const NOT_TLS_CODES: ReadonlySet<string> = new Set([
  "ERR_SSL_WRONG_VERSION_NUMBER",
  "ERR_SSL_PACKET_LENGTH_TOO_LONG",
  "ERR_SSL_HTTP_REQUEST",
  "ERR_SSL_RECORD_LENGTH_MISMATCH"
])

const codeOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const altNamesOf = (e: unknown, chain: ReadonlyArray<Trust.CertificateFacts>, raw: string | undefined) => {
  const cert = typeof e === "object" && e !== null && "cert" in e ? e.cert : undefined
  const fromError = typeof cert === "object" && cert !== null && "subjectaltname" in cert &&
      typeof cert.subjectaltname === "string"
    ? cert.subjectaltname
    : raw
  if (fromError !== undefined && fromError.length > 0) return fromError.split(/,\s*/)
  return chain.length > 0 ? [chain[0].subject] : []
}

/** What the handshake saw of the server, captured before Node destroys a refused socket. */
interface Observed {
  tcpConnected: boolean
  /** The served chain as Node gave it; its facts are read only when something asks for them. */
  peer: NodeTls.DetailedPeerCertificate | undefined
  facts: ReadonlyArray<Trust.CertificateFacts> | undefined
}

const chainOf = (observed: Observed): ReadonlyArray<Trust.CertificateFacts> =>
  observed.facts ??= observed.peer === undefined ? [] : Trust.factsOfPeerChain(observed.peer)

const altNamesOfPeer = (observed: Observed): string | undefined =>
  typeof observed.peer?.subjectaltname === "string" ? observed.peer.subjectaltname : undefined

const classify = (
  target: Target,
  observed: Observed,
  error: unknown,
  now: number,
  store: Trust.LoadedStore
): TlsConnectError => {
  const chain = chainOf(observed)
  const served = chain.length === 0 ? undefined : chain.map((c) => info(c, now, store))
  const where = { host: target.servername, address: target.address, port: target.port }
  const refused = { ...where, served }
  const phase: Phase = observed.tcpConnected ? "handshake" : "tcp"
  const code = codeOf(error)
  const leafSubject = chain.length > 0 ? chain[0].subject : target.servername
  switch (code) {
    case "CERT_HAS_EXPIRED": {
      const depth = Math.max(0, chain.findIndex((c) => c.notAfter.getTime() < now))
      return new CertificateExpired({
        ...refused,
        depth,
        subject: chain[depth]?.subject ?? leafSubject,
        notAfter: chain[depth]?.notAfter ?? new Date(Number.NaN)
      })
    }
    case "CERT_NOT_YET_VALID": {
      const depth = Math.max(0, chain.findIndex((c) => c.notBefore.getTime() > now))
      return new CertificateNotYetValid({
        ...refused,
        depth,
        subject: chain[depth]?.subject ?? leafSubject,
        notBefore: chain[depth]?.notBefore ?? new Date(Number.NaN)
      })
    }
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
      return new SelfSignedCertificate({ ...refused, subject: leafSubject })
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
      return new UnknownIssuer({
        ...refused,
        code,
        likelyCause: "missing-intermediate",
        issuer: chain[0]?.issuer ?? "unknown"
      })
    case "UNABLE_TO_GET_ISSUER_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "SELF_SIGNED_CERT_IN_CHAIN": {
      const top = chain[chain.length - 1]
      return new UnknownIssuer({
        ...refused,
        code,
        likelyCause: "untrusted-ca",
        issuer: top === undefined ? "unknown" : code === "SELF_SIGNED_CERT_IN_CHAIN" ? top.subject : top.issuer
      })
    }
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return new HostnameMismatch({ ...refused, names: altNamesOf(error, chain, altNamesOfPeer(observed)) })
    case "ECONNREFUSED":
      return new ConnectRefused(where)
    case "ECONNRESET":
    case "EPIPE":
    case "ECONNABORTED":
      return new ConnectReset({ ...where, phase })
    case "EHOSTUNREACH":
    case "EHOSTDOWN":
      return new ConnectFailed({ ...where, phase, code, reason: "host-unreachable" })
    case "ENETUNREACH":
    case "ENETDOWN":
      return new ConnectFailed({ ...where, phase, code, reason: "network-unreachable" })
    case "EADDRNOTAVAIL":
      return new ConnectFailed({ ...where, phase, code, reason: "address-unavailable" })
    case "EACCES":
    case "EPERM":
      return new ConnectFailed({ ...where, phase, code, reason: "not-permitted" })
  }
  if (code !== undefined) {
    if (VERIFY_CODES.has(code)) return new CertificateRejected({ ...refused, code })
    if (PROTOCOL_VERSION_CODES.has(code)) return new ProtocolRefused({ ...where, code, reason: "protocol-version" })
    if (CIPHER_CODES.has(code)) return new ProtocolRefused({ ...where, code, reason: "cipher" })
    if (NOT_TLS_CODES.has(code)) return new ProtocolRefused({ ...where, code, reason: "not-tls" })
    if (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_")) {
      return new ProtocolRefused({ ...where, code, reason: "handshake-failure" })
    }
  }
  return new ConnectFailed({ ...where, phase, code, reason: "other" })
}

// -----------------------------------------------------------------------------
// live
// -----------------------------------------------------------------------------

const DAY_MILLIS = 86_400_000

const info = (facts: Trust.CertificateFacts, now: number, store: Trust.LoadedStore): CertificateInfo => ({
  ...facts,
  daysLeft: Math.floor((facts.notAfter.getTime() - now) / DAY_MILLIS),
  inTrustStore: store.fingerprints.has(facts.fingerprint256)
})

const warningsOf = (
  host: string,
  chain: ReadonlyArray<CertificateInfo>,
  anchor: CertificateInfo | undefined,
  files: ReadonlyArray<{ readonly path: string; readonly certificates: ReadonlyArray<CertificateInfo> }>
): ReadonlyArray<TrustWarning> => {
  const out: Array<TrustWarning> = []
  const seen = new Set<string>()
  const check = (c: CertificateInfo, where: TrustWarning["where"], what: string) => {
    if (c.daysLeft >= WARN_DAYS || seen.has(c.fingerprint256)) return
    seen.add(c.fingerprint256)
    const when = c.daysLeft < 0
      ? `expired on ${day(c.notAfter)}`
      : `expires on ${day(c.notAfter)}, in ${c.daysLeft} day${c.daysLeft === 1 ? "" : "s"}`
    out.push({ subject: c.subject, notAfter: c.notAfter, daysLeft: c.daysLeft, where, message: `${what} ${when}` })
  }
  chain.forEach((c, i) => {
    if (anchor !== undefined && c.fingerprint256 === anchor.fingerprint256) return
    check(c, "served-chain", i === 0 ? `certificate for ${host}` : `intermediate "${c.subject}" served for ${host}`)
  })
  if (anchor !== undefined) check(anchor, "trust-anchor", `trusted root "${anchor.subject}" that ${host} chains to`)
  for (const f of files) for (const c of f.certificates) check(c, "ca-file", `root "${c.subject}" from ${f.path}`)
  return out
}

/**
 * How a handshake ended, told once, by the socket's events or the time-out; `await` waits for it.
 * Plain code rather than a `Deferred`: making one cost more than anything else in a handshake's
 * Effect work.
 */
class HandshakeEnd {
  private result: Exit.Exit<void, unknown> | undefined = undefined
  private waiter: ((exit: Exit.Exit<void, unknown>) => void) | undefined = undefined

  done(exit: Exit.Exit<void, unknown>): void {
    if (this.result !== undefined) return
    this.result = exit
    const waiter = this.waiter
    this.waiter = undefined
    if (waiter !== undefined) waiter(exit)
  }

  /** Interrupting the wait leaves the end to be told to nobody. */
  readonly await: Effect.Effect<void, unknown> = Effect.async<void, unknown>((resume) => {
    if (this.result !== undefined) resume(this.result)
    else this.waiter = resume
  })
}

interface Opened {
  readonly socket: NodeTls.TLSSocket
  readonly observed: Observed
  readonly done: HandshakeEnd
}

const noop = () => {}

/** Ends the wait for a handshake when the connect time-out passes. */
const TIMED_OUT: unique symbol = Symbol("stpp/connect/TlsConnector/timedOut")

const open = (target: Target, store: Trust.LoadedStore, done: HandshakeEnd): Opened => {
  const observed: Observed = { tcpConnected: false, peer: undefined, facts: undefined }
  const socket = NodeTls.connect({
    host: target.address,
    port: target.port,
    servername: target.servername,
    secureContext: store.secureContext,
    minVersion: "TLSv1.2",
    rejectUnauthorized: true,
    // Node reads the peer's chain for the host name check; it is kept from here rather than read a
    // second time (reading a detailed chain is the costliest step of a handshake on the client).
    checkServerIdentity: (hostname, cert) => {
      observed.peer = cert as NodeTls.DetailedPeerCertificate
      return NodeTls.checkServerIdentity(hostname, cert)
    },
    ALPNProtocols: ["http/1.1"]
  })
  // A persistent listener: an error at any time (also after HTTP took over) must not crash the process.
  socket.on("error", noop)
  socket.once("connect", () => {
    observed.tcpConnected = true
  })
  // Node emits "secure" just before it checks the chain and the name and, on a failure, destroys the
  // socket; the served chain is read here so that an error can say what was wrong with it.
  socket.prependOnceListener("secure", () => {
    observed.tcpConnected = true
    // When the chain verified, Node's host name check (above) records it; otherwise it is read here,
    // before Node destroys the socket.
    const handle = (socket as unknown as { readonly _handle?: { readonly verifyError?: () => unknown } })._handle
    const verifyError = typeof handle?.verifyError === "function" ? handle.verifyError() : "unknown"
    if (verifyError === null || verifyError === undefined) return
    try {
      observed.peer = socket.getPeerCertificate(true)
    } catch {
      // described without the chain
    }
  })
  socket.once("secureConnect", () => done.done(Exit.void))
  socket.once("error", (error) => done.done(Exit.fail(error)))
  socket.once(
    "close",
    () => done.done(Exit.fail(Object.assign(new Error("closed before the handshake finished"), { code: "ECONNRESET" })))
  )
  return { socket, observed, done }
}

interface Handshaken {
  readonly connection: TlsConnection
  /** The served chain's facts, read when asked for (a connection for requests never asks). */
  readonly chain: () => ReadonlyArray<Trust.CertificateFacts>
}

const handshake = (
  target: Target,
  store: Trust.LoadedStore,
  timeout: Duration.Duration
): Effect.Effect<Handshaken, TlsConnectError, Scope.Scope> =>
  Effect.gen(function*() {
    const where = { host: target.servername, address: target.address, port: target.port }
    if (Net.isIP(target.servername) !== 0 || target.servername.length === 0) {
      return yield* Effect.fail(new ServernameRequired(where))
    }
    const start = yield* Clock.currentTimeMillis
    const done = new HandshakeEnd()
    // The socket is closed with the caller's scope. `Scope.addFinalizer` rather than
    // `Effect.acquireRelease`: closing a socket needs none of the acquiring fiber's context, which
    // `acquireRelease` restores for its release with two diffs and patches of all its FiberRefs,
    // costing more than the rest of a handshake's Effect work together.
    const opened = yield* Effect.uninterruptible(Effect.tap(
      Effect.try({
        try: () => open(target, store, done),
        // e.g. a port out of range: node throws before any socket exists
        catch: (error): TlsConnectError =>
          new ConnectFailed({ ...where, phase: "tcp", code: codeOf(error), reason: "other" })
      }),
      ({ socket }) =>
        Effect.flatMap(Effect.scope, (scope) => Scope.addFinalizer(scope, Effect.sync(() => socket.destroy())))
    ))
    const { observed, socket } = opened
    const timeoutMillis = Duration.toMillis(timeout)
    // The connect time-out on Clock (so TestClock drives it): a sleeping child that ends the wait,
    // rather than Effect.timeoutFail's race of two fibers, which cost more than the rest of this.
    const timer = yield* Effect.fork(
      Effect.zipRight(Effect.sleep(timeout), Effect.sync(() => done.done(Exit.fail(TIMED_OUT))))
    )
    yield* done.await.pipe(
      Effect.catchAll((error) =>
        error === TIMED_OUT
          ? Effect.fail<TlsConnectError>(
            observed.tcpConnected
              ? new HandshakeTimeout({ ...where, timeoutMillis })
              : new ConnectTimeout({ ...where, timeoutMillis })
          )
          : Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.fail(classify(target, observed, error, now, store)))
      ),
      // Whatever ended the attempt, a socket that did not verify is gone before anyone could write.
      Effect.onExit((exit) =>
        Effect.fiberIdWith((self) => {
          // the timer is told to stop, not waited for (nor a fiber forked to wait for it)
          timer.unsafeInterruptAsFork(self)
          if (!Exit.isSuccess(exit)) socket.destroy()
          return Effect.void
        })
      )
    )
    const end = yield* Clock.currentTimeMillis
    const base = socket.bytesWritten
    const cipher = socket.getCipher() as NodeTls.CipherNameAndProtocol | undefined
    const connection: TlsConnection = {
      socket,
      bytesWritten: () => socket.bytesWritten - base,
      address: target.address,
      port: target.port,
      servername: target.servername,
      protocol: socket.getProtocol(),
      cipher: cipher?.name ?? null,
      connectMillis: end - start
    }
    return { connection, chain: () => chainOf(observed) }
  })

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
}

/**
 * The live connector from explicit options (the `doctor` command builds one this way).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeWith = (options: Options): Effect.Effect<TlsConnector["Type"], TrustStoreError> =>
  Effect.gen(function*() {
    const store = yield* Trust.load(options.trustStore, options.caFiles).pipe(
      Effect.mapError((f) => new TrustStoreError({ path: f.path, reason: f.problem }))
    )
    const timeout = Duration.decode(options.connectTimeout)
    const connect = (target: Target) => Effect.map(handshake(target, store, timeout), (h) => h.connection)
    const trustReport = (target: Target): Effect.Effect<TrustReport, TlsConnectError> =>
      Effect.scoped(Effect.gen(function*() {
        const handshaken = yield* handshake(target, store, timeout)
        const { connection } = handshaken
        const chain = handshaken.chain()
        const now = yield* Clock.currentTimeMillis
        const infos = chain.map((c) => info(c, now, store))
        const last = infos[infos.length - 1]
        const anchor = last !== undefined && last.inTrustStore ? last : undefined
        const caFiles = store.caFiles.map((f) => ({
          path: f.path,
          certificates: f.certificates.map((c) => info(c, now, store))
        }))
        return {
          host: target.servername,
          address: target.address,
          port: target.port,
          checkedAt: new Date(now),
          protocol: connection.protocol,
          cipher: connection.cipher,
          trustStore: {
            kind: store.kind,
            systemBundle: store.systemBundle,
            bundledRoots: store.bundledCount,
            caFiles
          },
          chain: infos,
          anchor,
          warnings: warningsOf(target.servername, infos, anchor, caFiles)
        } satisfies TrustReport
      }))
    return TlsConnector.of({ connect, trustReport })
  })

/**
 * The live connector from `ConnectionConfig` (trustStore, caFiles, connectTimeout).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<TlsConnector["Type"], TrustStoreError, ConnectionConfig> = Effect.flatMap(
  ConnectionConfig,
  (settings) =>
    makeWith({
      trustStore: settings.trustStore,
      caFiles: settings.caFiles,
      connectTimeout: settings.connectTimeout
    })
)

/**
 * The live connector; a missing or empty CA file fails here, at start.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<TlsConnector, TrustStoreError, ConnectionConfig> = Layer.effect(TlsConnector, make)

// -----------------------------------------------------------------------------
// test
// -----------------------------------------------------------------------------

/**
 * What the fake connector does on one connect call to an address.
 *
 * - `accept`: a verified connection over an in-memory socket; the test gets the server side.
 * - `refuse`, `reset`: `ConnectRefused`, `ConnectReset` (handshake phase).
 * - `stall`: the handshake never finishes: only the connect time-out ends it (`HandshakeTimeout`).
 * - `stall-tcp`: TCP never connects (`ConnectTimeout`).
 * - `fail`: fails with the given error (built for the target when a function).
 *
 * Every step may take `delay` first (by `Clock`, so `TestClock` drives it), inside the time-out.
 *
 * @since 0.1.0
 * @category test
 */
export type Step =
  | "accept"
  | "refuse"
  | "reset"
  | "stall"
  | "stall-tcp"
  | {
    readonly _tag: "accept"
    readonly delay?: Duration.DurationInput | undefined
    readonly protocol?: string | undefined
    readonly cipher?: string | undefined
    /** Called with the server side as soon as the connection is made. */
    readonly onAccept?: ((server: TestServerSide) => void) | undefined
  }
  | {
    readonly _tag: "refuse" | "reset" | "stall" | "stall-tcp"
    readonly delay?: Duration.DurationInput | undefined
  }
  | {
    readonly _tag: "fail"
    readonly delay?: Duration.DurationInput | undefined
    readonly error: TlsConnectError | ((target: Target) => TlsConnectError)
  }

/**
 * The test's end of an accepted fake connection.
 *
 * @since 0.1.0
 * @category test
 */
export interface TestServerSide {
  /** Read the request bytes here, write a response, `end()` it, or `destroy()` it (the client sees a reset). */
  readonly socket: Duplex
  /** Every byte the client has written so far. */
  readonly received: () => Buffer
}

/**
 * One connect call the fake saw.
 *
 * @since 0.1.0
 * @category test
 */
export interface TestCall {
  readonly target: Target
  /** `Clock` time of the call. */
  readonly at: number
  /** The step that answered it. */
  readonly step: string
  /** The server side, for an accepted call. */
  readonly server: TestServerSide | undefined
}

/**
 * Steers `layerTest`, the way `TestClock` steers the clock.
 *
 * @since 0.1.0
 * @category test
 */
export class TestTlsConnector extends Context.Tag("@stpp/connect/TestTlsConnector")<TestTlsConnector, {
  /** Queues steps for an address, one per connect call, in order. */
  readonly script: (address: string, ...steps: ReadonlyArray<Step>) => Effect.Effect<void>
  /** What every call to the address does once its queue is empty. */
  readonly always: (address: string, step: Step) => Effect.Effect<void>
  /** The connect calls made so far, oldest first. */
  readonly calls: Effect.Effect<ReadonlyArray<TestCall>>
  /** The trust report `trustReport` returns for an address that accepts. */
  readonly setTrustReport: (address: string, report: (target: Target) => TrustReport) => Effect.Effect<void>
}>() {}

interface TestState {
  readonly queues: Map<string, Array<Step>>
  readonly always: Map<string, Step>
  readonly calls: Array<{ -readonly [K in keyof TestCall]: TestCall[K] }>
  readonly reports: Map<string, (target: Target) => TrustReport>
}

const stepTag = (step: Step): string => (typeof step === "string" ? step : step._tag)

const emptyReport = (target: Target, now: number): TrustReport => ({
  host: target.servername,
  address: target.address,
  port: target.port,
  checkedAt: new Date(now),
  protocol: "TLSv1.3",
  cipher: "TLS_AES_128_GCM_SHA256",
  trustStore: { kind: "only", systemBundle: undefined, bundledRoots: 0, caFiles: [] },
  chain: [],
  anchor: undefined,
  warnings: []
})

const testConnect = (
  state: TestState,
  timeout: Duration.Duration,
  target: Target
): Effect.Effect<TlsConnection, TlsConnectError, Scope.Scope> =>
  Effect.gen(function*() {
    const where = { host: target.servername, address: target.address, port: target.port }
    const start = yield* Clock.currentTimeMillis
    const step = yield* Effect.sync(() => {
      const queue = state.queues.get(target.address)
      return queue !== undefined && queue.length > 0 ? queue.shift() : state.always.get(target.address)
    })
    if (step === undefined) {
      return yield* Effect.dieMessage(
        `TestTlsConnector: unscripted connect to ${target.address}:${target.port} (${target.servername}); script it with TestTlsConnector.script or .always`
      )
    }
    const tag = stepTag(step)
    const call: TestState["calls"][number] = { target, at: start, step: tag, server: undefined }
    state.calls.push(call)
    const delay = typeof step === "string" ? undefined : step.delay
    const timeoutMillis = Duration.toMillis(timeout)
    const outcome: Effect.Effect<TlsConnection, TlsConnectError, Scope.Scope> = Effect.gen(function*() {
      if (delay !== undefined) yield* Effect.sleep(delay)
      switch (tag) {
        case "refuse":
          return yield* Effect.fail(new ConnectRefused(where))
        case "reset":
          return yield* Effect.fail(new ConnectReset({ ...where, phase: "handshake" }))
        case "stall":
        case "stall-tcp":
          return yield* Effect.never
        case "fail": {
          const e = (step as Extract<Step, { readonly _tag: "fail" }>).error
          return yield* Effect.fail(typeof e === "function" ? e(target) : e)
        }
      }
      const accept = typeof step === "string" ? undefined : (step as Extract<Step, { readonly _tag: "accept" }>)
      const pair = yield* Effect.acquireRelease(
        Effect.sync(() => TestSocket.memoryPair(target.address, target.port)),
        ({ client, server }) =>
          Effect.sync(() => {
            client.destroy()
            server.destroy()
          })
      )
      pair.client.on("error", noop)
      pair.server.on("error", noop)
      const chunks: Array<Buffer> = []
      // every "data" listener gets every chunk: recording here does not take the bytes from the test
      pair.server.on("data", (chunk: Buffer) => chunks.push(chunk))
      const side: TestServerSide = { socket: pair.server, received: () => Buffer.concat(chunks) }
      call.server = side
      accept?.onAccept?.(side)
      const end = yield* Clock.currentTimeMillis
      return {
        socket: pair.client,
        bytesWritten: () => pair.client.bytesWritten,
        address: target.address,
        port: target.port,
        servername: target.servername,
        protocol: accept?.protocol ?? "TLSv1.3",
        cipher: accept?.cipher ?? "TLS_AES_128_GCM_SHA256",
        connectMillis: end - start
      } satisfies TlsConnection
    })
    return yield* Effect.timeoutFail(outcome, {
      duration: timeout,
      onTimeout: (): TlsConnectError =>
        tag === "stall-tcp"
          ? new ConnectTimeout({ ...where, timeoutMillis })
          : new HandshakeTimeout({ ...where, timeoutMillis })
    })
  })

/**
 * The fake connector and its controller: no sockets, no certificates; each address does what the
 * test scripted, and anything unscripted is a defect that names the address. The connect time-out
 * comes from `ConnectionConfig`, so `TestClock` drives stalls.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest: Layer.Layer<TlsConnector | TestTlsConnector, never, ConnectionConfig> = Layer
  .effectContext(
    Effect.gen(function*() {
      const settings = yield* ConnectionConfig
      const state: TestState = { queues: new Map(), always: new Map(), calls: [], reports: new Map() }
      const connector = TlsConnector.of({
        connect: (target) => testConnect(state, settings.connectTimeout, target),
        trustReport: (target) =>
          Effect.scoped(Effect.gen(function*() {
            yield* testConnect(state, settings.connectTimeout, target)
            const now = yield* Clock.currentTimeMillis
            const report = state.reports.get(target.address)
            return report === undefined ? emptyReport(target, now) : report(target)
          }))
      })
      const controller = TestTlsConnector.of({
        script: (address, ...steps) =>
          Effect.sync(() => {
            const queue = state.queues.get(address) ?? []
            queue.push(...steps)
            state.queues.set(address, queue)
          }),
        always: (address, step) => Effect.sync(() => void state.always.set(address, step)),
        calls: Effect.sync(() => state.calls.map((c) => ({ ...c }))),
        setTrustReport: (address, report) => Effect.sync(() => void state.reports.set(address, report))
      })
      return Context.make(TlsConnector, connector).pipe(Context.add(TestTlsConnector, controller))
    })
  )
