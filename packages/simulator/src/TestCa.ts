/**
 * A test certificate authority made at run time, with no network and no files: a root, an
 * intermediate below it, and every kind of server certificate the TLS tests, the gateway simulator
 * and the demo need (good, rotated, expired, not yet valid, wrong name, self-signed, from an unknown
 * root, served without its intermediate, expiring soon). Everything is PEM, ready for
 * `tls.createServer({ key, cert })` and for a client's `ca`.
 *
 * Keys are ECDSA P-256 (fast to make: a whole set takes milliseconds) and certificates are signed
 * with SHA-256 by `@peculiar/x509` over Node's WebCrypto.
 *
 * @since 0.1.0
 */
import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as NodeCrypto from "node:crypto"
import * as Net from "node:net"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * Making a key or signing a certificate failed (WebCrypto rejected the request).
 *
 * @since 0.1.0
 * @category errors
 */
export class TestCaError extends Data.TaggedError("TestCaError")<{
  /** What was being made, e.g. "root key", "leaf certificate for gateway.test". */
  readonly step: string
  readonly cause: unknown
}> {
  get message(): string {
    return `test CA: could not make the ${this.step}`
  }
}

/**
 * A certificate with its private key.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyedCertificate {
  /** The certificate, PEM. */
  readonly cert: string
  /** Its private key, PKCS#8 PEM. */
  readonly key: string
  /** Distinguished name, e.g. "CN=stpp Test Root CA, O=stpp-connect tests". */
  readonly subject: string
  readonly issuer: string
  /** Hex. */
  readonly serialNumber: string
  readonly notBefore: Date
  readonly notAfter: Date
  /** SHA-256 of the DER, hex with colons, as `tls` prints `fingerprint256`. */
  readonly fingerprint256: string
}

/**
 * A server certificate and what a server should send with it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerCertificate extends KeyedCertificate {
  /** What the server serves: the leaf followed by the intermediate(s) it was issued with (PEM). */
  readonly chain: string
  readonly hostnames: ReadonlyArray<string>
  readonly ips: ReadonlyArray<string>
}

/**
 * A root and an intermediate that issues server certificates.
 *
 * @since 0.1.0
 * @category models
 */
export interface TestCa {
  /** The trust anchor: give `root.cert` to a client (`ca`, `STPP_CA_FILE`). */
  readonly root: KeyedCertificate
  /** Issues the server certificates; servers send it after the leaf. */
  readonly intermediate: KeyedCertificate
  /** Issues a server certificate from the intermediate (a new key each time). */
  readonly issue: (options: IssueOptions) => Effect.Effect<ServerCertificate, TestCaError>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface IssueOptions {
  /** DNS names in the subject alternative name; the first is also the common name. */
  readonly hostnames: ReadonlyArray<string>
  /** IP addresses in the subject alternative name. */
  readonly ips?: ReadonlyArray<string> | undefined
  /** Default: now less one hour (so that small clock differences do not matter). */
  readonly notBefore?: Date | undefined
  /** Default: `notBefore` plus `validFor`. */
  readonly notAfter?: Date | undefined
  /** Default: 90 days. */
  readonly validFor?: Duration.DurationInput | undefined
  /** Whether `chain` includes the intermediate. Default true; false makes a "missing intermediate" server. */
  readonly serveIntermediate?: boolean | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions {
  /** Goes into every subject's O=, so that certificates of two CAs are told apart. Default "stpp-connect tests". */
  readonly organization?: string | undefined
  /** Default: `Clock.currentTimeMillis` (use the live clock for certificates that real TLS checks). */
  readonly now?: Date | undefined
  /** Default: 10 years. */
  readonly caValidFor?: Duration.DurationInput | undefined
}

/**
 * One server certificate of each kind for a host name, all made by (or against) one CA.
 *
 * @since 0.1.0
 * @category models
 */
export interface Leaves {
  /** Issued by the intermediate for the host; served with the intermediate. */
  readonly good: ServerCertificate
  /** Like `good` with a new key and serial: what a certificate renewal looks like (S2). */
  readonly rotated: ServerCertificate
  /** A second, different good certificate: another node of the gateway (S2). */
  readonly other: ServerCertificate
  /** Valid, but expires in 10 days (S3 warnings). */
  readonly expiringSoon: ServerCertificate
  /** Expired 30 days ago. */
  readonly expired: ServerCertificate
  /** Valid from 30 days from now. */
  readonly notYetValid: ServerCertificate
  /** Good but for another host name (`wrong-name.invalid`). */
  readonly wrongName: ServerCertificate
  /** Self-signed for the host (no CA). */
  readonly selfSigned: ServerCertificate
  /** Issued for the host by another root and intermediate, which the client does not trust. */
  readonly unknownRoot: ServerCertificate
  /** Issued by the intermediate but served without it. */
  readonly missingIntermediate: ServerCertificate
}

// -----------------------------------------------------------------------------
// internals
// -----------------------------------------------------------------------------

const crypto = NodeCrypto.webcrypto
x509.cryptoProvider.set(crypto)

type CryptoKeyPair = NodeCrypto.webcrypto.CryptoKeyPair
type CryptoKey = NodeCrypto.webcrypto.CryptoKey

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const
const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const
const HOUR = 3_600_000
const DAY = 24 * HOUR

interface Signer {
  readonly cert: x509.X509Certificate
  readonly keys: CryptoKeyPair
}

const attempt = <A>(step: string, f: () => Promise<A>): Effect.Effect<A, TestCaError> =>
  Effect.tryPromise({ try: f, catch: (cause) => new TestCaError({ step, cause }) })

const generateKeys = (step: string) =>
  attempt(step, () => crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]))

const serial = (): string => {
  const bytes = NodeCrypto.randomBytes(16)
  bytes[0] = (bytes[0] & 0x7f) | 0x01
  return bytes.toString("hex")
}

const escapeDn = (s: string): string => s.replace(/([,+"\\<>;=])/g, "\\$1")

const keyedCertificate = (
  step: string,
  cert: x509.X509Certificate,
  keys: CryptoKeyPair
): Effect.Effect<KeyedCertificate, TestCaError> =>
  Effect.map(
    attempt(step, () => crypto.subtle.exportKey("pkcs8", keys.privateKey)),
    (pkcs8) => {
      const pem = cert.toString("pem")
      return {
        cert: `${pem}\n`,
        key: `${x509.PemConverter.encode(pkcs8, "PRIVATE KEY")}\n`,
        subject: cert.subject,
        issuer: cert.issuer,
        serialNumber: cert.serialNumber,
        notBefore: cert.notBefore,
        notAfter: cert.notAfter,
        fingerprint256: new NodeCrypto.X509Certificate(pem).fingerprint256
      }
    }
  )

const caExtensions = (keys: CryptoKeyPair, pathLength: number, issuerKey: CryptoKey | undefined) =>
  attempt("CA extensions", async () => [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ...(issuerKey === undefined ? [] : [await x509.AuthorityKeyIdentifierExtension.create(issuerKey)])
  ])

const leafExtensions = (
  keys: CryptoKeyPair,
  hostnames: ReadonlyArray<string>,
  ips: ReadonlyArray<string>,
  issuerKey: CryptoKey
) =>
  attempt("leaf extensions", async () => [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension([
      ...hostnames.map((value) => ({ type: "dns" as const, value })),
      ...ips.map((value) => ({ type: "ip" as const, value }))
    ]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(issuerKey)
  ])

const makeRoot = (organization: string, notBefore: Date, notAfter: Date) =>
  Effect.gen(function*() {
    const keys = yield* generateKeys("root key")
    const extensions = yield* caExtensions(keys, 1, undefined)
    const cert = yield* attempt("root certificate", () =>
      x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serial(),
        name: `CN=stpp Test Root CA, O=${escapeDn(organization)}`,
        notBefore,
        notAfter,
        keys,
        signingAlgorithm: SIGNING,
        extensions
      }))
    return { cert, keys } satisfies Signer
  })

const makeIntermediate = (root: Signer, organization: string, notBefore: Date, notAfter: Date) =>
  Effect.gen(function*() {
    const keys = yield* generateKeys("intermediate key")
    const extensions = yield* caExtensions(keys, 0, root.keys.publicKey)
    const cert = yield* attempt("intermediate certificate", () =>
      x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: `CN=stpp Test Intermediate CA, O=${escapeDn(organization)}`,
        issuer: root.cert.subject,
        notBefore,
        notAfter,
        publicKey: keys.publicKey,
        signingKey: root.keys.privateKey,
        signingAlgorithm: SIGNING,
        extensions
      }))
    return { cert, keys } satisfies Signer
  })

const validity = (options: IssueOptions, now: number): { readonly notBefore: Date; readonly notAfter: Date } => {
  const notBefore = options.notBefore ?? new Date(now - HOUR)
  const notAfter = options.notAfter ??
    new Date(notBefore.getTime() + Duration.toMillis(Duration.decode(options.validFor ?? Duration.days(90))))
  return { notBefore, notAfter }
}

const checkNames = (options: IssueOptions): Effect.Effect<void, TestCaError> =>
  options.hostnames.length === 0 && (options.ips ?? []).length === 0
    ? Effect.fail(new TestCaError({ step: "leaf certificate", cause: "no host name or IP given" }))
    : (options.ips ?? []).some((ip) => Net.isIP(ip) === 0)
    ? Effect.fail(new TestCaError({ step: "leaf certificate", cause: "not an IP address" }))
    : Effect.void

const leafName = (options: IssueOptions, organization: string): string =>
  `CN=${escapeDn(options.hostnames[0] ?? options.ips?.[0] ?? "server")}, O=${escapeDn(organization)}`

const issueFrom = (signer: Signer, organization: string, options: IssueOptions) =>
  Effect.gen(function*() {
    yield* checkNames(options)
    const now = options.notBefore === undefined ? yield* Clock.currentTimeMillis : 0
    const { notAfter, notBefore } = validity(options, now)
    const step = `certificate for ${options.hostnames[0] ?? options.ips?.[0]}`
    const keys = yield* generateKeys(`key for ${options.hostnames[0] ?? options.ips?.[0]}`)
    const ips = options.ips ?? []
    const extensions = yield* leafExtensions(keys, options.hostnames, ips, signer.keys.publicKey)
    const cert = yield* attempt(step, () =>
      x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: leafName(options, organization),
        issuer: signer.cert.subject,
        notBefore,
        notAfter,
        publicKey: keys.publicKey,
        signingKey: signer.keys.privateKey,
        signingAlgorithm: SIGNING,
        extensions
      }))
    const keyed = yield* keyedCertificate(step, cert, keys)
    const serveIntermediate = options.serveIntermediate ?? true
    return {
      ...keyed,
      chain: serveIntermediate ? `${keyed.cert}${signer.cert.toString("pem")}\n` : keyed.cert,
      hostnames: [...options.hostnames],
      ips: [...ips]
    } satisfies ServerCertificate
  })

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

/**
 * Makes a new root and intermediate (new keys each time).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: MakeOptions = {}): Effect.Effect<TestCa, TestCaError> =>
  Effect.gen(function*() {
    const organization = options.organization ?? "stpp-connect tests"
    const now = options.now?.getTime() ?? (yield* Clock.currentTimeMillis)
    const notBefore = new Date(now - DAY)
    const notAfter = new Date(now + Duration.toMillis(Duration.decode(options.caValidFor ?? Duration.days(3650))))
    const root = yield* makeRoot(organization, notBefore, notAfter)
    const intermediate = yield* makeIntermediate(root, organization, notBefore, notAfter)
    const rootPem = yield* keyedCertificate("root certificate", root.cert, root.keys)
    const intermediatePem = yield* keyedCertificate("intermediate certificate", intermediate.cert, intermediate.keys)
    return {
      root: rootPem,
      intermediate: intermediatePem,
      issue: (issueOptions) =>
        issueFrom(
          intermediate,
          organization,
          options.now !== undefined && issueOptions.notBefore === undefined
            ? { ...issueOptions, notBefore: new Date(now - HOUR) }
            : issueOptions
        )
    }
  })

/**
 * A self-signed server certificate (no CA at all): what a misconfigured or rogue server sends.
 *
 * @since 0.1.0
 * @category constructors
 */
export const selfSigned = (options: IssueOptions): Effect.Effect<ServerCertificate, TestCaError> =>
  Effect.gen(function*() {
    yield* checkNames(options)
    const now = options.notBefore === undefined ? yield* Clock.currentTimeMillis : 0
    const { notAfter, notBefore } = validity(options, now)
    const keys = yield* generateKeys("self-signed key")
    const ips = options.ips ?? []
    const name = leafName(options, "self-signed")
    const cert = yield* attempt("self-signed certificate", async () =>
      x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serial(),
        name,
        notBefore,
        notAfter,
        keys,
        signingAlgorithm: SIGNING,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          new x509.SubjectAlternativeNameExtension([
            ...options.hostnames.map((value) => ({ type: "dns" as const, value })),
            ...ips.map((value) => ({ type: "ip" as const, value }))
          ]),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
        ]
      }))
    const keyed = yield* keyedCertificate("self-signed certificate", cert, keys)
    return { ...keyed, chain: keyed.cert, hostnames: [...options.hostnames], ips: [...ips] }
  })

/**
 * One server certificate of each kind for `hostname` (and `ips`, if given), for the CA `ca`.
 * The clock is read once, so that "expired" and "not yet valid" are relative to the same now.
 *
 * @since 0.1.0
 * @category constructors
 */
export const leaves = (
  ca: TestCa,
  hostname: string,
  options: { readonly ips?: ReadonlyArray<string> | undefined; readonly now?: Date | undefined } = {}
): Effect.Effect<Leaves, TestCaError> =>
  Effect.gen(function*() {
    const now = options.now?.getTime() ?? (yield* Clock.currentTimeMillis)
    const ips = options.ips ?? []
    const base = { hostnames: [hostname], ips, notBefore: new Date(now - HOUR) }
    const unknown = yield* make({ organization: "Unknown Authority", now: new Date(now) })
    return yield* Effect.all({
      good: ca.issue(base),
      rotated: ca.issue(base),
      other: ca.issue(base),
      expiringSoon: ca.issue({ ...base, notAfter: new Date(now + 10 * DAY) }),
      expired: ca.issue({ ...base, notBefore: new Date(now - 400 * DAY), notAfter: new Date(now - 30 * DAY) }),
      notYetValid: ca.issue({ ...base, notBefore: new Date(now + 30 * DAY), notAfter: new Date(now + 120 * DAY) }),
      wrongName: ca.issue({ ...base, hostnames: ["wrong-name.invalid"], ips: [] }),
      selfSigned: selfSigned(base),
      unknownRoot: unknown.issue(base),
      missingIntermediate: ca.issue({ ...base, serveIntermediate: false })
    })
  })
