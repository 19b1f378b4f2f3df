/**
 * The whole local gateway in one scoped call: a test CA and a server certificate for the
 * gateway's name, the TLS JSON gateway on two or three loopback addresses, and an authoritative
 * DNS server on a loopback high port that serves the name with a short TTL (and NS records), so a
 * client resolves, load-balances, verifies and fails over exactly as against the real gateway,
 * with no root, no internet and nothing live.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import * as DnsServer from "./DnsServer.js"
import * as GatewayServer from "./GatewayServer.js"
import * as TestCa from "./TestCa.js"

/**
 * The gateway's host name in the simulator: a `.test` name (RFC 2606), never a live one.
 *
 * @since 0.1.0
 * @category models
 */
export const HOSTNAME = "webservices.securetrading.test"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default `HOSTNAME`. */
  readonly hostname?: string | undefined
  /** The gateway's addresses. Default 127.0.0.2, 127.0.0.3, 127.0.0.4. */
  readonly addresses?: ReadonlyArray<string> | undefined
  /** The gateway's port on every address; default 0 (a free one). */
  readonly port?: number | undefined
  /** The DNS server's address; default 127.0.0.1. */
  readonly dnsAddress?: string | undefined
  /** The DNS server's port; default 0 (a free high port). */
  readonly dnsPort?: number | undefined
  /** TTL of the gateway's A records, in seconds; default 1. */
  readonly ttl?: number | undefined
  /** TTL of the NS records and the name servers' A records, in seconds; default 5. */
  readonly nsTtl?: number | undefined
  /** Which addresses DNS returns at start; default all of them. */
  readonly dnsAnswer?: ReadonlyArray<string> | undefined
  /** Default "webservices@example.test". */
  readonly username?: string | undefined
  /** Default "simulator-password". */
  readonly password?: string | undefined
  /** Default "test_site12345". */
  readonly sitereference?: string | undefined
  /** The certificate served: one of the TestCa leaves; default "good". */
  readonly leaf?: keyof TestCa.Leaves | undefined
  /** Idle keep-alive time-out of the gateway's connections; default 75 s. */
  readonly keepAliveTimeoutMillis?: number | undefined
}

/**
 * The simulator could not start.
 *
 * @since 0.1.0
 * @category errors
 */
export class SimulatorError extends Data.TaggedError("SimulatorError")<{
  readonly step: "ca" | "dns" | "gateway" | "ca-file"
  readonly reason: string
}> {
  get message(): string {
    return `the gateway simulator could not start (${this.step}): ${this.reason}`
  }
}

/**
 * A running simulator: what a client needs and the controls a test steers.
 *
 * @since 0.1.0
 * @category models
 */
export interface Simulator {
  readonly hostname: string
  readonly port: number
  /** `https://<hostname>:<port>/json/`. */
  readonly url: string
  readonly addresses: ReadonlyArray<string>
  /** The DNS server as "ip:port". */
  readonly nameservers: ReadonlyArray<string>
  /** A temporary PEM file holding the test root: the only root a client should trust. */
  readonly caFile: string
  readonly username: string
  readonly password: string
  readonly sitereference: string
  /** STPP_URL, STPP_NAMESERVERS, STPP_CA_FILE, STPP_TRUST_STORE=only, STPP_USERNAME, STPP_PASSWORD, STPP_SITE_REFERENCE. */
  readonly env: Readonly<Record<string, string>>
  readonly ca: TestCa.TestCa
  readonly dns: DnsServer.DnsServer
  readonly gateway: GatewayServer.GatewayServer
  readonly setFault: (
    address: string,
    fault: GatewayServer.Fault
  ) => Effect.Effect<void, GatewayServer.GatewayServerError>
  /** Makes DNS answer the gateway's name with these addresses only (same TTL). */
  readonly pointDnsAt: (address: string | ReadonlyArray<string>) => Effect.Effect<void>
  readonly setDnsMode: (mode: DnsServer.Mode) => Effect.Effect<void>
  readonly requestsReceived: (address?: string) => number
  readonly transactions: () => ReadonlyArray<GatewayServer.Transaction>
}

/**
 * The connection settings of a client that talks to a simulator: its url, its DNS server, its CA
 * file as the only trusted root (`trustStore: "only"`), no name-server discovery (the simulator's
 * DNS server is the only one asked) and time-outs that fit loopback (connect 2 s, I/O 3 s, retry
 * budget 5 s).
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientSettings {
  readonly url: string
  readonly nameservers: ReadonlyArray<string>
  readonly caFiles: ReadonlyArray<string>
  readonly trustStore: "only"
  readonly dnsDiscovery: false
  readonly connectTimeout: string
  readonly ioTimeout: string
  readonly retryTimeout: string
}

/**
 * The settings a client needs to talk to a running simulator (see {@link ClientSettings}), with
 * `overrides` on top: a plain object, so it is given as is to `ConnectionService.layerWith`,
 * `ConnectionConfig.layer` or a `GatewayClient`'s `connection` option (this package does not
 * depend on `@stpp/connect`). Only `url`, `nameservers` and `caFile` are read from `sim`, so a
 * test that runs the `GatewayServer` and `DnsServer` on their own can pass those.
 *
 * @example
 * ```ts
 * import { Simulator } from "@stpp/simulator"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const sim = yield* Simulator.start()
 *   const settings = Simulator.settings(sim, { maxRetries: 0, logLevel: "warning" })
 *   // ConnectionService.layerWith(settings), GatewayClient.layerWith({ connection: settings, ... })
 *   yield* Effect.log(settings.url, settings.trustStore, settings.maxRetries)
 * }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const settings = <const O extends Readonly<Record<string, unknown>> = {}>(
  sim: Pick<Simulator, "url" | "nameservers" | "caFile">,
  overrides: O = {} as O
): Omit<ClientSettings, keyof O> & O => {
  const base: ClientSettings = {
    url: sim.url,
    nameservers: [...sim.nameservers],
    caFiles: [sim.caFile],
    trustStore: "only",
    dnsDiscovery: false,
    connectTimeout: "2s",
    ioTimeout: "3s",
    retryTimeout: "5s"
  }
  return { ...base, ...overrides } as Omit<ClientSettings, keyof O> & O
}

const zoneOf = (hostname: string): string => {
  const labels = hostname.split(".")
  return labels.length > 2 ? labels.slice(1).join(".") : hostname
}

/**
 * Starts everything in the current scope; closing the scope stops the servers and removes the
 * CA file.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = (options: Options = {}): Effect.Effect<Simulator, SimulatorError, Scope.Scope> =>
  Effect.gen(function*() {
    const hostname = options.hostname ?? HOSTNAME
    const addresses = options.addresses ?? ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    const ttl = options.ttl ?? 1
    const nsTtl = options.nsTtl ?? 5
    const username = options.username ?? "webservices@example.test"
    const password = options.password ?? "simulator-password"
    const sitereference = options.sitereference ?? "test_site12345"
    const zone = zoneOf(hostname)

    // Real TLS checks these certificates against the wall clock, so they are dated by it even when
    // the simulator is started under a TestClock.
    const now = new Date()
    const ca = yield* TestCa.make({ organization: "stpp gateway simulator", now }).pipe(
      Effect.mapError((e) => new SimulatorError({ step: "ca", reason: e.message }))
    )
    const kind = options.leaf ?? "good"
    const certificate = yield* (kind === "good"
      ? ca.issue({ hostnames: [hostname], notBefore: new Date(now.getTime() - 3_600_000) })
      : Effect.map(TestCa.leaves(ca, hostname, { now }), (all) => all[kind])).pipe(
        Effect.mapError((e) => new SimulatorError({ step: "ca", reason: e.message }))
      )

    const dir = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => Fs.mkdtemp(Path.join(Os.tmpdir(), "stpp-simulator-")),
        catch: (e) => new SimulatorError({ step: "ca-file", reason: String(e) })
      }),
      (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
    )
    const caFile = Path.join(dir, "root-ca.pem")
    yield* Effect.tryPromise({
      try: () => Fs.writeFile(caFile, ca.root.cert, { mode: 0o644 }),
      catch: (e) => new SimulatorError({ step: "ca-file", reason: String(e) })
    })

    const gateway = yield* GatewayServer.start({
      addresses,
      port: options.port,
      tls: { key: certificate.key, cert: certificate.chain },
      username,
      password,
      sitereference,
      keepAliveTimeoutMillis: options.keepAliveTimeoutMillis
    }).pipe(Effect.mapError((e) => new SimulatorError({ step: "gateway", reason: e.message })))

    const dnsAddress = options.dnsAddress ?? "127.0.0.1"
    const answer = options.dnsAnswer ?? addresses
    const dns = yield* DnsServer.make({
      address: dnsAddress,
      port: options.dnsPort,
      records: [
        ...answer.map((value) => ({ name: hostname, type: "A" as const, value, ttl })),
        { name: zone, type: "NS", value: `ns1.${zone}`, ttl: nsTtl },
        { name: `ns1.${zone}`, type: "A", value: dnsAddress, ttl: nsTtl }
      ]
    }).pipe(
      Effect.catchAllCause((cause) => Effect.fail(new SimulatorError({ step: "dns", reason: String(cause) })))
    )

    const url = `https://${hostname}:${gateway.port}/json/`
    const nameservers = [dns.nameserver]
    return {
      hostname,
      port: gateway.port,
      url,
      addresses: gateway.addresses,
      nameservers,
      caFile,
      username,
      password,
      sitereference,
      env: {
        STPP_URL: url,
        STPP_NAMESERVERS: nameservers.join(","),
        STPP_CA_FILE: caFile,
        STPP_TRUST_STORE: "only",
        STPP_USERNAME: username,
        STPP_PASSWORD: password,
        STPP_SITE_REFERENCE: sitereference
      },
      ca,
      dns,
      gateway,
      setFault: gateway.setFault,
      pointDnsAt: (address) =>
        dns.setRecords(
          hostname,
          "A",
          (typeof address === "string" ? [address] : address).map((value) => ({ value, ttl }))
        ),
      setDnsMode: dns.setMode,
      requestsReceived: gateway.requestsReceived,
      transactions: gateway.transactions
    } satisfies Simulator
  })
