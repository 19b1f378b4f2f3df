/**
 * `stpp doctor`: what the vendor's guide asks operators to look up by hand (D5, S3): the zone's DNS
 * servers (discovered from its NS records, with their addresses and health), what each answers for
 * the gateway's host and with which TTL, the TLS chain each address serves (subjects, issuers,
 * expiry, days left), the negotiated protocol, connect timings, the runtime's Node and OpenSSL
 * versions, and a verdict. Exit 0 healthy, 1 problems found, 2 bad usage.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ConnectionConfig from "@stpp/connect/ConnectionConfig"
import * as Redact from "@stpp/connect/Redact"
import * as RedactingLogger from "@stpp/connect/RedactingLogger"
import * as Resolver from "@stpp/connect/Resolver"
import * as TlsConnector from "@stpp/connect/TlsConnector"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { CliContext, exit, logLevelOf, usageError } from "./internal/context.js"
import * as Settings from "./internal/settings.js"

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
    readonly chain: ReadonlyArray<CertificateLine>
    readonly warnings: ReadonlyArray<string>
    readonly error: string | null
    readonly message: string | null
  }>
  readonly problems: ReadonlyArray<string>
  readonly verdict: "healthy" | "problems found"
}

// -----------------------------------------------------------------------------
// checking
// -----------------------------------------------------------------------------

const certificateLine = (c: TlsConnector.CertificateInfo): CertificateLine => ({
  subject: c.subject,
  issuer: c.issuer,
  notBefore: c.notBefore.toISOString(),
  notAfter: c.notAfter.toISOString(),
  daysLeft: c.daysLeft,
  isCa: c.isCa,
  inTrustStore: c.inTrustStore
})

const messageOf = (e: unknown): string =>
  Redact.string(typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e))

const check = (settings: ConnectionConfig.ConnectionSettings) =>
  Effect.gen(function*() {
    const resolver = yield* Resolver.Resolver
    const connector = yield* TlsConnector.TlsConnector
    const { host, port } = ConnectionConfig.endpoint(settings)
    const problems: Array<string> = []

    const listed = yield* Effect.either(resolver.nameservers)
    const nameservers: Array<Report["nameservers"][number]> = []
    if (Either.isLeft(listed)) {
      problems.push(`the DNS servers of ${settings.dnsZone} could not be found: ${messageOf(listed.left)}`)
    } else {
      for (const s of listed.right) {
        const lastFailure = s.lastFailure === undefined ? null : `${s.lastFailure.reason}: ${s.lastFailure.detail}`
        nameservers.push({
          nameserver: s.nameserver,
          name: s.name ?? null,
          source: s.source,
          healthy: s.healthy,
          lastFailure
        })
        if (!s.healthy) problems.push(`DNS server ${s.nameserver} is marked unhealthy (${lastFailure ?? "failed"})`)
      }
      if (listed.right.length === 0) problems.push(`no DNS server is known for ${settings.dnsZone}`)
    }

    const queried = yield* resolver.queryEach(host)
    const answers = queried.map(({ nameserver, result }) =>
      Either.match(result, {
        onLeft: (e) => {
          problems.push(`DNS server ${nameserver} gave no answer for ${host}: ${messageOf(e)}`)
          return { nameserver, addresses: [], ttlSeconds: null, error: messageOf(e) }
        },
        onRight: (a) => ({
          nameserver,
          addresses: a.addresses,
          ttlSeconds: Duration.toSeconds(a.ttl),
          error: null
        })
      })
    )
    const addresses = Array.from(new Set(answers.flatMap((a) => a.addresses)))
    if (addresses.length === 0) problems.push(`no DNS server named an address for ${host}: nothing to connect to`)

    const tls = yield* Effect.forEach(addresses, (address) =>
      Effect.gen(function*() {
        const started = yield* Clock.currentTimeMillis
        const report = yield* Effect.either(connector.trustReport({ address, port, servername: host }))
        const connectMs = (yield* Clock.currentTimeMillis) - started
        if (Either.isLeft(report)) {
          const message = messageOf(report.left)
          problems.push(`${address}:${port}: ${message}`)
          return {
            address,
            ok: false,
            protocol: null,
            cipher: null,
            connectMs,
            chain: [],
            warnings: [],
            error: report.left._tag,
            message
          }
        }
        const r = report.right
        const warnings = r.warnings.map((w) => w.message)
        for (const w of warnings) problems.push(`${address}:${port}: ${w}`)
        return {
          address,
          ok: true,
          protocol: r.protocol,
          cipher: r.cipher,
          connectMs,
          chain: r.chain.map(certificateLine),
          warnings,
          error: null,
          message: null
        }
      }), { concurrency: 4 })

    const now = yield* Clock.currentTimeMillis
    return {
      host,
      port,
      zone: settings.dnsZone,
      checkedAt: new Date(now).toISOString(),
      runtime: { node: process.versions.node, openssl: process.versions.openssl },
      trustStore: { kind: settings.trustStore, caFiles: settings.caFiles },
      nameservers,
      answers,
      tls,
      problems: Array.from(new Set(problems)),
      verdict: problems.length === 0 ? "healthy" : "problems found"
    } satisfies Report
  })

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
    if (!t.ok) {
      out.push(`  FAIL ${t.address}:${r.port} after ${t.connectMs} ms: ${t.error}: ${t.message}`)
      continue
    }
    out.push(`  ok   ${t.address}:${r.port} ${t.protocol ?? "?"} ${t.cipher ?? ""}, connected in ${t.connectMs} ms`)
    t.chain.forEach((c, i) => {
      const role = i === 0 ? "leaf" : c.inTrustStore ? "root" : "CA  "
      out.push(`       ${role} ${c.subject}`)
      out.push(`            issued by ${c.issuer}; expires ${day(c.notAfter)} (${c.daysLeft} days left)`)
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

// -----------------------------------------------------------------------------
// the command
// -----------------------------------------------------------------------------

interface RawOptions {
  readonly host: Option.Option<string>
  readonly port: Option.Option<string>
  readonly url: Option.Option<string>
  readonly nameserver: ReadonlyArray<string>
  readonly ca: ReadonlyArray<string>
  readonly connectTimeout: Option.Option<string>
  readonly dnsTimeout: Option.Option<string>
  readonly json: boolean
  readonly logLevel: Option.Option<string>
}

const prepare = (o: RawOptions) =>
  Effect.gen(function*() {
    const logLevel = yield* logLevelOf(o.logLevel)
    const base = Settings.given([
      ["url", o.url],
      ["nameserver", o.nameserver],
      ["ca", o.ca],
      ["connect-timeout", o.connectTimeout],
      ["dns-timeout", o.dnsTimeout],
      ["log-level", logLevel]
    ])
    const settings = yield* Settings.readSettings(base)
    if (Option.isNone(o.host) && Option.isNone(o.port)) return { settings, given: base }
    // --host and --port replace the url's host and port.
    const port = Option.isSome(o.port) ? yield* Settings.wholeNumber("--port", o.port.value, 1, 65535) : undefined
    const url = new URL(settings.url.href)
    if (Option.isSome(o.host)) {
      const host = o.host.value.trim()
      if (!/^[A-Za-z0-9.-]+$/.test(host) && !/^\[?[0-9a-fA-F:]+\]?$/.test(host)) {
        return yield* Effect.fail(
          `--host: ${JSON.stringify(host.slice(0, 40))} is not a host name; allowed: a DNS name or an IP address`
        )
      }
      url.hostname = host
    }
    if (port !== undefined) url.port = String(port)
    const values = new Map(base.values)
    values.set("STPP_URL", url.href)
    const options = new Map(base.options)
    options.set("STPP_URL", Option.isSome(o.host) ? "--host" : "--port")
    const given: Settings.Given = { values, options }
    return { settings: yield* Settings.readSettings(given), given }
  })

const run = (
  p: { readonly settings: ConnectionConfig.ConnectionSettings; readonly given: Settings.Given },
  json: boolean
): Effect.Effect<void, never, CliContext> =>
  Effect.gen(function*() {
    const report = yield* check(p.settings)
    yield* Console.log(json ? JSON.stringify(report) : format(report))
    yield* exit(report.problems.length === 0 ? 0 : 1)
  }).pipe(
    Effect.provide(
      Layer.mergeAll(Resolver.layer, TlsConnector.layer).pipe(
        Layer.provideMerge(RedactingLogger.layer),
        Layer.provide(Layer.succeed(ConnectionConfig.ConnectionConfig, p.settings))
      )
    ),
    Effect.catchTags({
      TrustStoreError: (e) => usageError(Settings.nameSource(e.message, p.given)),
      LiveDebugRefused: (e) => usageError(e.message)
    })
  )

/**
 * `stpp doctor`.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make(
  "doctor",
  {
    host: Options.text("host").pipe(
      Options.withPseudoName("NAME"),
      Options.withDescription("The gateway host to check (default: the host of STPP_URL / --url)."),
      Options.optional
    ),
    port: Options.text("port").pipe(
      Options.withPseudoName("PORT"),
      Options.withDescription("The gateway port to check (default: the port of STPP_URL / --url, else 443)."),
      Options.optional
    ),
    url: Settings.single("url"),
    nameserver: Settings.repeated("nameserver"),
    ca: Settings.repeated("ca"),
    connectTimeout: Settings.single("connect-timeout"),
    dnsTimeout: Settings.single("dns-timeout"),
    json: Options.boolean("json").pipe(Options.withDescription("Print the report as one JSON object.")),
    logLevel: Settings.single("log-level")
  },
  (o) => prepare(o).pipe(Effect.matchEffect({ onFailure: usageError, onSuccess: (p) => run(p, o.json) }))
).pipe(
  Command.withDescription(
    "Check what the vendor's guide asks operators to look up by hand: the zone's DNS servers (from its NS " +
      "records) and their health, what each answers for the gateway host with its TTL, the TLS chain each " +
      "address serves (subjects, issuers, expiry, days left), the protocol, connect timings, and the Node and " +
      "OpenSSL versions. Exit 0 healthy, 1 problems found, 2 bad usage."
  )
)
