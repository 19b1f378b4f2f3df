/**
 * The TLS connector's errors (S1-S4): the certificate and protocol refusals (never retried), the
 * TCP and handshake failures (retried like any connect failure: nothing was sent) and the trust
 * store problems found at start. Each carries safe facts only (host, address, port, codes).
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Predicate from "effect/Predicate"
import { MAX_CA_FILE_BYTES } from "./ConnectionConfig.js"
import * as Trust from "./internal/tls/trust.js"
import type { CertificateInfo } from "./TlsConnector.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@stpp/connect/TlsError")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Whether `u` is any error of this module.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isTlsError = (u: unknown): u is TlsError => Predicate.hasProperty(u, TypeId)

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
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
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
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
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
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
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
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
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
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
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
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
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
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
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
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
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
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** Where the attempt was when its time ran out, as on `ConnectReset` and `ConnectFailed`. */
  get phase(): "handshake" {
    return "handshake"
  }
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
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
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
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
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
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** Where the attempt was when its time ran out, as on `ConnectReset` and `ConnectFailed`. */
  get phase(): "tcp" {
    return "tcp"
  }
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
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
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
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
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
 * The connect attempt's time-out, by `phase`. Two tags rather than one class: they ask an operator
 * for different things (a route or firewall for `tcp`; a TLS terminator that accepts and stalls for
 * `handshake`), and the tags are what `catchTag` and the `stpp` command's JSON `error` field name.
 *
 * @since 0.1.0
 * @category errors
 */
export type ConnectTimeoutError = ConnectTimeout | HandshakeTimeout

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

const VERIFICATION_TAGS: ReadonlySet<string> = new Set<TlsVerificationError["_tag"]>([
  "CertificateExpired",
  "CertificateNotYetValid",
  "UnknownIssuer",
  "SelfSignedCertificate",
  "HostnameMismatch",
  "CertificateRejected",
  "ProtocolRefused",
  "ServernameRequired"
])

const RETRYABLE_TAGS: ReadonlySet<string> = new Set<ConnectPhaseError["_tag"]>([
  "ConnectRefused",
  "ConnectReset",
  "ConnectTimeout",
  "ConnectFailed",
  "HandshakeTimeout"
])

/**
 * Every error a connect can fail with, plus the trust store's.
 *
 * @since 0.1.0
 * @category errors
 */
export type TlsError = TlsConnectError | TrustStoreError

/**
 * @since 0.1.0
 * @category refinements
 */
export const isVerificationError = (u: unknown): u is TlsVerificationError =>
  isTlsError(u) && VERIFICATION_TAGS.has(u._tag)

/**
 * The failures that may be retried: nothing was sent and no security check refused the server.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isRetryable = (u: unknown): u is ConnectPhaseError => isTlsError(u) && RETRYABLE_TAGS.has(u._tag)

/**
 * @since 0.1.0
 * @category refinements
 */
export const isTlsConnectError = (u: unknown): u is TlsConnectError => isVerificationError(u) || isRetryable(u)
