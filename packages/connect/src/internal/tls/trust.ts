/**
 * The trust store (S2, S3): which PEM roots are trusted, read once when the layer is built, and
 * what a certificate looks like in a report.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as NodeCrypto from "node:crypto"
import type * as Tls from "node:tls"
import * as NodeTls from "node:tls"
import type { TrustStore } from "../../ConnectionConfig.js"
import { MAX_CA_FILE_BYTES, readFileBounded } from "../../ConnectionConfig.js"
import * as Redact from "../../Redact.js"

/** Where Linux distributions and macOS keep the system's PEM bundle. @internal */
export const SYSTEM_BUNDLES: ReadonlyArray<string> = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
  "/etc/ssl/ca-bundle.pem",
  "/etc/pki/tls/cacert.pem",
  "/etc/ssl/cert.pem"
]

/** @internal */
export type TrustStoreProblem =
  | "not-found"
  | "unreadable"
  | "not-a-file"
  | "too-large"
  | "no-certificate"
  | "invalid-certificate"
  | "not-a-ca"
  | "no-system-bundle"

/** @internal */
export interface TrustStoreFailure {
  readonly path: string | undefined
  readonly problem: TrustStoreProblem
}

/** One certificate, as a report shows it. @internal */
export interface CertificateFacts {
  readonly subject: string
  readonly issuer: string
  readonly serialNumber: string
  readonly fingerprint256: string
  readonly notBefore: Date
  readonly notAfter: Date
  readonly isCa: boolean
}

/** @internal */
export interface LoadedFile {
  readonly path: string
  readonly certificates: ReadonlyArray<CertificateFacts>
  readonly pems: ReadonlyArray<string>
}

/** @internal */
export interface LoadedStore {
  /** Different for every store loaded: TLS sessions (sessions.ts) are kept per store. */
  readonly id: number
  readonly kind: TrustStore
  /** The system bundle read, for `system`. */
  readonly systemBundle: string | undefined
  /** Every trusted root, PEM. */
  readonly pems: ReadonlyArray<string>
  /** Roots from the bundle (Node's or the system's), not listed one by one in reports. */
  readonly bundledCount: number
  readonly caFiles: ReadonlyArray<LoadedFile>
  readonly fingerprints: ReadonlySet<string>
  readonly secureContext: Tls.SecureContext
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** @internal */
export const splitPem = (text: string): ReadonlyArray<string> => text.match(PEM_BLOCK) ?? []

/** "CN=a, O=b" from a node:crypto X509Certificate's newline-separated name. @internal */
export const formatName = (name: string): string => name.split("\n").filter((s) => s.length > 0).join(", ")

// A certificate's names are the peer's text: redacted before they reach an error, a report or a log (E2).
const safeName = (name: string): string => Redact.string(name)

/** @internal */
export const factsOfX509 = (cert: NodeCrypto.X509Certificate): CertificateFacts => ({
  subject: safeName(formatName(cert.subject)),
  issuer: safeName(formatName(cert.issuer)),
  serialNumber: cert.serialNumber,
  fingerprint256: cert.fingerprint256,
  notBefore: new Date(cert.validFrom),
  notAfter: new Date(cert.validTo),
  isCa: cert.ca
})

const nameOfObject = (name: unknown): string => {
  if (typeof name !== "object" || name === null) return ""
  return Object.entries(name as Record<string, unknown>)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}=${String(x)}`))
    .join(", ")
}

/**
 * The chain as `getPeerCertificate(true)` links it, leaf first: the certificates the server sent,
 * then (when it is found) the trusted root from the store.
 *
 * @internal
 */
export const factsOfPeerChain = (leaf: Tls.DetailedPeerCertificate | undefined): ReadonlyArray<CertificateFacts> => {
  const out: Array<CertificateFacts> = []
  const seen = new Set<string>()
  let cert: Tls.DetailedPeerCertificate | undefined = leaf
  while (cert !== undefined && cert !== null && typeof cert.fingerprint256 === "string" && out.length < 16) {
    if (seen.has(cert.fingerprint256)) break
    seen.add(cert.fingerprint256)
    out.push({
      subject: safeName(nameOfObject(cert.subject)),
      issuer: safeName(nameOfObject(cert.issuer)),
      serialNumber: cert.serialNumber,
      fingerprint256: cert.fingerprint256,
      notBefore: new Date(cert.valid_from),
      notAfter: new Date(cert.valid_to),
      isCa: cert.ca
    })
    cert = cert.issuerCertificate
  }
  return out
}

// Regular files only, bounded: a device, FIFO or huge file fails at once.
const readFile = (path: string): Effect.Effect<string, TrustStoreFailure> =>
  Effect.mapError(readFileBounded(path, MAX_CA_FILE_BYTES), (e) => ({ path, problem: e.reason }))

const parseFile = (path: string, text: string): Effect.Effect<LoadedFile, TrustStoreFailure> => {
  const pems = splitPem(text)
  if (pems.length === 0) return Effect.fail({ path, problem: "no-certificate" })
  const certificates: Array<CertificateFacts> = []
  for (const pem of pems) {
    let cert: NodeCrypto.X509Certificate
    try {
      cert = new NodeCrypto.X509Certificate(pem)
    } catch {
      return Effect.fail({ path, problem: "invalid-certificate" })
    }
    // S2: trust comes from CAs; a server's own certificate here would be a pin in disguise.
    if (!cert.ca) return Effect.fail({ path, problem: "not-a-ca" })
    certificates.push(factsOfX509(cert))
  }
  return Effect.succeed({ path, certificates, pems })
}

const findSystemBundle: Effect.Effect<{ readonly path: string; readonly text: string }, TrustStoreFailure> = Effect
  .gen(function*() {
    for (const path of SYSTEM_BUNDLES) {
      const text = yield* Effect.option(readFile(path))
      if (text._tag === "Some" && splitPem(text.value).length > 0) return { path, text: text.value }
    }
    return yield* Effect.fail<TrustStoreFailure>({ path: undefined, problem: "no-system-bundle" })
  })

let storesLoaded = 0

/**
 * Reads the store once: the bundle, each extra file (a missing or empty file is an error at start),
 * and one TLS context with TLS 1.2 as the minimum (S1).
 *
 * @internal
 */
export const load = (
  kind: TrustStore,
  caFiles: ReadonlyArray<string>
): Effect.Effect<LoadedStore, TrustStoreFailure> =>
  Effect.gen(function*() {
    const files = yield* Effect.forEach(caFiles, (path) =>
      Effect.flatMap(readFile(path), (text) => parseFile(path, text)))
    let bundled: ReadonlyArray<string> = []
    let systemBundle: string | undefined
    if (kind === "node") {
      bundled = NodeTls.rootCertificates
    } else if (kind === "system") {
      const found = yield* findSystemBundle
      systemBundle = found.path
      bundled = splitPem(found.text)
    }
    const pems = [
      ...bundled,
      ...files.flatMap((f) =>
        f.pems
      )
    ]
    const fingerprints = new Set<string>()
    for (const pem of pems) {
      try {
        fingerprints.add(new NodeCrypto.X509Certificate(pem).fingerprint256)
      } catch {
        // a bundle entry node cannot parse is skipped by OpenSSL too
      }
    }
    const secureContext = NodeTls.createSecureContext({ ca: pems, minVersion: "TLSv1.2", maxVersion: "TLSv1.3" })
    return {
      id: ++storesLoaded,
      kind,
      systemBundle,
      pems,
      bundledCount: bundled.length,
      caFiles: files,
      fingerprints,
      secureContext
    }
  })
