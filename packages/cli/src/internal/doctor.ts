/**
 * The work of `stpp doctor`, loaded when the command runs.
 *
 * @internal
 */
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
import * as Net from "node:net"
import { type CertificateLine, format, type Report } from "../DoctorReport.js"
import { type CliContext, exit, logLevelOf, usageError } from "./context.js"
import * as Settings from "./settings.js"

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
    // what each server's failure just now was (the queries leave the resolver's own health as it was)
    const failedNow = new Map(
      answers.flatMap((a) => a.error === null ? [] : [[a.nameserver, a.error] as const])
    )

    const listed = yield* Effect.either(resolver.nameservers)
    const nameservers: Array<Report["nameservers"][number]> = []
    if (Either.isLeft(listed)) {
      problems.push(`the DNS servers of ${settings.dnsZone} could not be found: ${messageOf(listed.left)}`)
    } else {
      for (const s of listed.right) {
        const now = failedNow.get(s.nameserver)
        const lastFailure = now ??
          (s.lastFailure === undefined ? null : `${s.lastFailure.reason}: ${s.lastFailure.detail}`)
        // healthy: it answered just now, and the resolver has not marked it
        nameservers.push({
          nameserver: s.nameserver,
          name: s.name ?? null,
          source: s.source,
          healthy: s.healthy && now === undefined,
          lastFailure
        })
        // one that failed just now is already named above
        if (!s.healthy && now === undefined) {
          problems.push(`DNS server ${s.nameserver} is marked unhealthy (${lastFailure ?? "failed"})`)
        }
      }
      if (listed.right.length === 0) problems.push(`no DNS server is known for ${settings.dnsZone}`)
    }

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
          // a refused chain is shown as the server sent it, so the operator sees what to replace
          const served = "served" in report.left ? report.left.served ?? [] : []
          return {
            address,
            ok: false,
            protocol: null,
            cipher: null,
            connectMs,
            chain: served.map(certificateLine),
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

/** The command's options as parsed. */
export interface RawOptions {
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
      const allowed =
        "allowed: a DNS name (labels of letters, digits and '-', not leading or trailing, each 1 to 63 long)"
      if (Net.isIP(host.replace(/^\[|\]$/g, "")) !== 0) {
        return yield* Effect.fail(
          `--host: an IP address cannot be checked, as the certificate is checked against a host name; ${allowed}`
        )
      }
      if (!ConnectionConfig.isHostName(host)) {
        return yield* Effect.fail(`--host: the value is not a DNS name; ${allowed}`)
      }
      url.hostname = host
      // The URL setter ignores a host it cannot take: never check another host than the one asked for.
      if (url.hostname !== host.toLowerCase()) {
        return yield* Effect.fail(`--host: the value cannot be used as a host; ${allowed}`)
      }
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

/** Checks the options, then the gateway. */
export const handle = (o: RawOptions): Effect.Effect<void, never, CliContext> =>
  prepare(o).pipe(Effect.matchEffect({ onFailure: usageError, onSuccess: (p) => run(p, o.json) }))
