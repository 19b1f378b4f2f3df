/**
 * The trust report (S3): the verified chain, its anchor, the extra roots, and what expires soon.
 *
 * @internal
 */
import type { CertificateInfo, Target, TlsConnection, TrustReport, TrustWarning } from "../../TlsConnector.js"
import { info } from "./classify.js"
import type * as Trust from "./trust.js"

/** Certificates that expire within this many days are warned about. @internal */
export const WARN_DAYS = 30

const day = (d: Date): string => (Number.isNaN(d.getTime()) ? "an unknown date" : d.toISOString().slice(0, 10))

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

/** The report for a connection that verified, from its served chain. @internal */
export const build = (
  target: Target,
  connection: TlsConnection,
  chain: ReadonlyArray<Trust.CertificateFacts>,
  now: number,
  store: Trust.LoadedStore
): TrustReport => {
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
  }
}
