/**
 * The report `stpp doctor` prints (D5, S3): its fields (the `--json` contract) and the text form.
 *
 * @since 0.1.0
 */
import type * as ConnectionConfig from "@stpp/connect/ConnectionConfig"
import type * as Resolver from "@stpp/connect/Resolver"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * One certificate of a served chain.
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificateLine {
  readonly subject: string
  readonly issuer: string
  readonly notBefore: string
  readonly notAfter: string
  readonly daysLeft: number
  readonly isCa: boolean
  readonly inTrustStore: boolean
}

/**
 * What `stpp doctor --json` prints.
 *
 * @since 0.1.0
 * @category models
 */
export interface Report {
  readonly host: string
  readonly port: number
  readonly zone: string
  readonly checkedAt: string
  readonly runtime: { readonly node: string; readonly openssl: string }
  readonly trustStore: {
    readonly kind: ConnectionConfig.TrustStore
    readonly caFiles: ReadonlyArray<string>
  }
  readonly nameservers: ReadonlyArray<{
    readonly nameserver: string
    readonly name: string | null
    readonly source: Resolver.NameserverSource
    readonly healthy: boolean
    readonly lastFailure: string | null
  }>
  readonly answers: ReadonlyArray<{
    readonly nameserver: string
    readonly addresses: ReadonlyArray<string>
    readonly ttlSeconds: number | null
    readonly error: string | null
  }>
  readonly tls: ReadonlyArray<{
    readonly address: string
    readonly ok: boolean
    readonly protocol: string | null
    readonly cipher: string | null
    readonly connectMs: number
    /** The chain the address serves; also when it was refused (then as the server sent it). */
    readonly chain: ReadonlyArray<CertificateLine>
    readonly warnings: ReadonlyArray<string>
    readonly error: string | null
    readonly message: string | null
  }>
  readonly problems: ReadonlyArray<string>
  readonly verdict: "healthy" | "problems found"
}

// -----------------------------------------------------------------------------
// printing
// -----------------------------------------------------------------------------

const day = (iso: string): string => iso.slice(0, 10)

/**
 * The report as text for an operator.
 *
 * @since 0.1.0
 * @category printing
 */
export const format = (r: Report): string => {
  const out: Array<string> = []
  out.push(`stpp doctor: ${r.host} port ${r.port} (checked ${r.checkedAt})`)
  out.push(`Runtime: Node ${r.runtime.node}, OpenSSL ${r.runtime.openssl} (keep both patched)`)
  out.push(
    `Trust store: ${r.trustStore.kind}${r.trustStore.caFiles.length > 0 ? ` + ${r.trustStore.caFiles.join(", ")}` : ""}`
  )
  out.push("")
  out.push(`DNS servers of ${r.zone}:`)
  if (r.nameservers.length === 0) out.push("  (none found)")
  for (const s of r.nameservers) {
    out.push(
      `  ${s.healthy ? "ok  " : "FAIL"} ${s.nameserver}${s.name === null ? "" : ` (${s.name})`} [${s.source}]${
        s.lastFailure === null ? "" : ` last failure: ${s.lastFailure}`
      }`
    )
  }
  out.push("")
  out.push(`What each answers for ${r.host}:`)
  if (r.answers.length === 0) out.push("  (no server asked)")
  for (const a of r.answers) {
    out.push(
      a.error === null
        ? `  ok   ${a.nameserver} -> ${a.addresses.join(", ")} (TTL ${a.ttlSeconds} s)`
        : `  FAIL ${a.nameserver}: ${a.error}`
    )
  }
  out.push("")
  out.push("TLS served by each address:")
  if (r.tls.length === 0) out.push("  (no address to check)")
  for (const t of r.tls) {
    if (t.ok) {
      out.push(`  ok   ${t.address}:${r.port} ${t.protocol ?? "?"} ${t.cipher ?? ""}, connected in ${t.connectMs} ms`)
    } else {
      out.push(`  FAIL ${t.address}:${r.port} after ${t.connectMs} ms: ${t.error}: ${t.message}`)
      // a refused chain, as the server sent it (nothing was sent to it)
      if (t.chain.length > 0) out.push("       served:")
    }
    t.chain.forEach((c, i) => {
      const role = i === 0 ? "leaf" : c.inTrustStore ? "root" : "CA  "
      const left = c.daysLeft < 0 ? `EXPIRED ${-c.daysLeft} days ago` : `${c.daysLeft} days left`
      out.push(`       ${role} ${c.subject}`)
      out.push(`            issued by ${c.issuer}; expires ${day(c.notAfter)} (${left})`)
    })
    for (const w of t.warnings) out.push(`       WARNING ${w}`)
  }
  out.push("")
  if (r.problems.length === 0) {
    out.push("Verdict: healthy")
  } else {
    out.push(`Verdict: ${r.problems.length} problem(s) found`)
    for (const p of r.problems) out.push(`  - ${p}`)
  }
  return out.join("\n")
}
