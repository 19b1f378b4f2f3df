/**
 * What a failed connect attempt was (S4): Node's and OpenSSL's error codes, and what the handshake
 * saw of the served chain, mapped onto the connector's typed errors.
 *
 * @internal
 */
import type * as NodeTls from "node:tls"
import * as Redact from "../../Redact.js"
import type { CertificateInfo, Target } from "../../TlsConnector.js"
import * as TlsError from "../../TlsError.js"
import * as Trust from "./trust.js"

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

/** @internal */
export const codeOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const altNamesOf = (e: unknown, chain: ReadonlyArray<Trust.CertificateFacts>, raw: string | undefined) => {
  const cert = typeof e === "object" && e !== null && "cert" in e ? e.cert : undefined
  const fromError = typeof cert === "object" && cert !== null && "subjectaltname" in cert &&
      typeof cert.subjectaltname === "string"
    ? cert.subjectaltname
    : raw
  // the peer's names, redacted before they reach the error (E2)
  if (fromError !== undefined && fromError.length > 0) return fromError.split(/,\s*/).map((n) => Redact.string(n))
  return chain.length > 0 ? [chain[0].subject] : []
}

/** What the handshake saw of the server, captured before Node destroys a refused socket. */
/** @internal */
export interface Observed {
  tcpConnected: boolean
  /** The served chain as Node gave it; its facts are read only when something asks for them. */
  peer: NodeTls.DetailedPeerCertificate | undefined
  facts: ReadonlyArray<Trust.CertificateFacts> | undefined
}

/** @internal */
export const chainOf = (observed: Observed): ReadonlyArray<Trust.CertificateFacts> =>
  observed.facts ??= observed.peer === undefined ? [] : Trust.factsOfPeerChain(observed.peer)

const altNamesOfPeer = (observed: Observed): string | undefined =>
  typeof observed.peer?.subjectaltname === "string" ? observed.peer.subjectaltname : undefined

/** @internal */
export const classify = (
  target: Target,
  observed: Observed,
  error: unknown,
  now: number,
  store: Trust.LoadedStore
): TlsError.TlsConnectError => {
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
      return new TlsError.CertificateExpired({
        ...refused,
        depth,
        subject: chain[depth]?.subject ?? leafSubject,
        notAfter: chain[depth]?.notAfter ?? new Date(Number.NaN)
      })
    }
    case "CERT_NOT_YET_VALID": {
      const depth = Math.max(0, chain.findIndex((c) => c.notBefore.getTime() > now))
      return new TlsError.CertificateNotYetValid({
        ...refused,
        depth,
        subject: chain[depth]?.subject ?? leafSubject,
        notBefore: chain[depth]?.notBefore ?? new Date(Number.NaN)
      })
    }
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
      return new TlsError.SelfSignedCertificate({ ...refused, subject: leafSubject })
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
      return new TlsError.UnknownIssuer({
        ...refused,
        code,
        likelyCause: "missing-intermediate",
        issuer: chain[0]?.issuer ?? "unknown"
      })
    case "UNABLE_TO_GET_ISSUER_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "SELF_SIGNED_CERT_IN_CHAIN": {
      const top = chain[chain.length - 1]
      return new TlsError.UnknownIssuer({
        ...refused,
        code,
        likelyCause: "untrusted-ca",
        issuer: top === undefined ? "unknown" : code === "SELF_SIGNED_CERT_IN_CHAIN" ? top.subject : top.issuer
      })
    }
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return new TlsError.HostnameMismatch({ ...refused, names: altNamesOf(error, chain, altNamesOfPeer(observed)) })
    case "ECONNREFUSED":
      return new TlsError.ConnectRefused(where)
    case "ECONNRESET":
    case "EPIPE":
    case "ECONNABORTED":
      return new TlsError.ConnectReset({ ...where, phase })
    case "EHOSTUNREACH":
    case "EHOSTDOWN":
      return new TlsError.ConnectFailed({ ...where, phase, code, reason: "host-unreachable" })
    case "ENETUNREACH":
    case "ENETDOWN":
      return new TlsError.ConnectFailed({ ...where, phase, code, reason: "network-unreachable" })
    case "EADDRNOTAVAIL":
      return new TlsError.ConnectFailed({ ...where, phase, code, reason: "address-unavailable" })
    case "EACCES":
    case "EPERM":
      return new TlsError.ConnectFailed({ ...where, phase, code, reason: "not-permitted" })
  }
  if (code !== undefined) {
    if (VERIFY_CODES.has(code)) return new TlsError.CertificateRejected({ ...refused, code })
    if (PROTOCOL_VERSION_CODES.has(code)) {
      return new TlsError.ProtocolRefused({ ...where, code, reason: "protocol-version" })
    }
    if (CIPHER_CODES.has(code)) return new TlsError.ProtocolRefused({ ...where, code, reason: "cipher" })
    if (NOT_TLS_CODES.has(code)) return new TlsError.ProtocolRefused({ ...where, code, reason: "not-tls" })
    if (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_")) {
      return new TlsError.ProtocolRefused({ ...where, code, reason: "handshake-failure" })
    }
  }
  return new TlsError.ConnectFailed({ ...where, phase, code, reason: "other" })
}

const DAY_MILLIS = 86_400_000

/** A certificate's facts as a report shows them, at `now`. @internal */
export const info = (facts: Trust.CertificateFacts, now: number, store: Trust.LoadedStore): CertificateInfo => ({
  ...facts,
  daysLeft: Math.floor((facts.notAfter.getTime() - now) / DAY_MILLIS),
  inTrustStore: store.fingerprints.has(facts.fingerprint256)
})
