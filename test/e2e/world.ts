/**
 * The e2e tests' view of the fault world that `world.sh up` started: where its files are, how to
 * steer it (nsupdate) and how to read what really reached its servers (nginx access logs, the BIND
 * query log, nft counters). Also the `stpp request` runner (the built CLI when it exists, else the
 * driver) and the `stpp doctor` runner (the built CLI only).
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"

export interface World {
  readonly dir: string
  readonly zone: string
  readonly nameservers: ReadonlyArray<string>
  readonly swallow: string
  readonly blackhole: string
  readonly tlsPort: number
  readonly caFile: string
  readonly untrustedCaFile: string
  readonly tsigKey: string
  readonly queryLog: string
  readonly nginxLogs: string
  readonly nftTable: string
  readonly username: string
  readonly password: string
  readonly cases: Readonly<Record<string, string>>
}

const ROOT = Path.resolve(import.meta.dirname, "../..")

const load = (): World | string => {
  const file = process.env.STPP_E2E_WORLD
  if (file === undefined || file === "") {
    return "STPP_E2E_WORLD is not set: the BIND9/nginx world is not up (run `pnpm test:e2e` as root)"
  }
  if (!Fs.existsSync(file)) return `STPP_E2E_WORLD=${file} does not exist: the world is not up`
  const env: Record<string, string> = {}
  for (const line of Fs.readFileSync(file, "utf8").split("\n")) {
    const eq = line.indexOf("=")
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1)
  }
  const cases: Record<string, string> = {}
  for (const pair of (env.CASES ?? "").split(",")) {
    const [name, address] = pair.split("=")
    if (name && address) cases[name] = address
  }
  return {
    dir: env.WORLD_DIR,
    zone: env.ZONE,
    nameservers: env.NAMESERVERS.split(","),
    swallow: env.SWALLOW,
    blackhole: env.BLACKHOLE,
    tlsPort: Number(env.TLS_PORT),
    caFile: env.CA_FILE,
    untrustedCaFile: env.UNTRUSTED_CA_FILE,
    tsigKey: env.TSIG_KEY,
    queryLog: env.QUERY_LOG,
    nginxLogs: env.NGINX_LOGS,
    nftTable: env.NFT_TABLE,
    username: env.USERNAME,
    password: env.PASSWORD,
    cases
  }
}

const loaded = load()
/** The world, or `undefined` when it is not up (the tests then skip). */
export const world: World | undefined = typeof loaded === "string" ? undefined : loaded
/** Why the world tests skip, printed once. */
export const skipReason: string | undefined = typeof loaded === "string" ? loaded : undefined
if (skipReason !== undefined && process.env.STPP_E2E_QUIET === undefined) {
  process.stderr.write(`e2e world tests skipped: ${skipReason}\n`)
}

/** Fuzzing and the soak need no root, only time: they run under `pnpm test:e2e` (STPP_E2E=1). */
export const heavyEnabled = process.env.STPP_E2E === "1"
export const heavySkipReason = "STPP_E2E is not 1: fuzzing and the soak run under `pnpm test:e2e`"

// -----------------------------------------------------------------------------
// test card data: none of it may ever appear in an output or a log file (L1)
// -----------------------------------------------------------------------------

export const PAN = "4111111111111111"
export const PAN_SPACED = "4111 1111 1111 1111"
export const CVV = "737"
export const EXPIRY = "11/2031"

/** The card data (and the password) found in `text`, if any. */
export const leaks = (text: string, password?: string): ReadonlyArray<string> => {
  const found: Array<string> = []
  const digits = text.replace(/[ -]/g, "")
  if (digits.includes(PAN)) found.push("PAN")
  if (text.includes(`"${CVV}"`) || new RegExp(`securitycode\\W+${CVV}`).test(text)) found.push("CVV")
  if (text.includes(EXPIRY)) found.push("expiry")
  if (password !== undefined && text.includes(password)) found.push("password")
  if (/authorization["']?\s*[:=]\s*["']?basic\s+[a-z0-9+/=]{8,}/i.test(text)) found.push("Authorization")
  return found
}

// -----------------------------------------------------------------------------
// steering and reading the servers
// -----------------------------------------------------------------------------

/** Replaces the A records of `name` (relative to the zone) live, through BIND's dynamic update. */
export const nsupdate = (w: World, name: string, addresses: ReadonlyArray<string>, ttl: number): void => {
  const fqdn = `${name}.${w.zone}`
  const script = [
    `server ${w.nameservers[0]} 53`,
    `zone ${w.zone}`,
    `update delete ${fqdn} A`,
    ...addresses.map((a) => `update add ${fqdn} ${ttl} A ${a}`),
    "send",
    ""
  ].join("\n")
  ChildProcess.execFileSync("nsupdate", ["-k", w.tsigKey], { input: script, timeout: 10_000 })
}

/** Lines of one nginx case's access log. */
export const nginxLines = (w: World, name: string): ReadonlyArray<string> => {
  const file = Path.join(w.nginxLogs, `${name}.access.log`)
  if (!Fs.existsSync(file)) return []
  return Fs.readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0)
}

/** Requests (POST /json/) that reached one nginx case, whatever nginx answered. */
export const nginxPosts = (w: World, name: string): number =>
  nginxLines(w, name).filter((l) => l.includes("\"POST /json/")).length

/** BIND's query log lines (each names the query and the server address that received it). */
export const queryLines = (w: World): ReadonlyArray<string> =>
  Fs.existsSync(w.queryLog) ? Fs.readFileSync(w.queryLog, "utf8").split("\n").filter((l) => l.length > 0) : []

/** Queries for `qname qtype` in the query log, optionally only those received by `server`. */
export const queriesFor = (w: World, qname: string, qtype: string, server?: string): number =>
  queryLines(w).filter((l) =>
    l.includes(`query: ${qname} IN ${qtype} `) && (server === undefined || l.trimEnd().endsWith(`(${server})`))
  ).length

/** Makes a DNS server drop every query until the returned function is called. */
export const silenceNameserver = (w: World, address: string): () => void => {
  const out = ChildProcess.execFileSync("nft", [
    "--echo",
    "--handle",
    "insert",
    "rule",
    "inet",
    w.nftTable,
    "input",
    "ip",
    "daddr",
    address,
    "meta",
    "l4proto",
    "{",
    "udp,",
    "tcp",
    "}",
    "th",
    "dport",
    "53",
    "drop"
  ], { encoding: "utf8" })
  const m = /# handle (\d+)/.exec(out)
  if (m === null) throw new Error(`nft did not return a handle: ${out}`)
  return () => {
    ChildProcess.execFileSync("nft", ["delete", "rule", "inet", w.nftTable, "input", "handle", m[1]])
  }
}

/** Packets an nft named counter has dropped so far. */
export const nftCounter = (w: World, name: "swallowed" | "blackholed" | "stalled"): number => {
  const out = ChildProcess.execFileSync("nft", ["list", "counter", "inet", w.nftTable, name], { encoding: "utf8" })
  const m = /packets (\d+)/.exec(out)
  return m === null ? 0 : Number(m[1])
}

// -----------------------------------------------------------------------------
// running `stpp request`
// -----------------------------------------------------------------------------

const CLI = Path.join(ROOT, "packages/cli/bin/stpp.js")
const CLI_BUILT = Path.join(ROOT, "packages/cli/dist")
const DRIVER = Path.join(ROOT, "test/build/e2e/driver.js")

/** The real CLI once it is built, else the stand-in driver with the same contract. */
export const stppCommand = (): { readonly path: string; readonly isCli: boolean } =>
  Fs.existsSync(CLI) && Fs.existsSync(CLI_BUILT) && process.env.STPP_E2E_DRIVER !== "1"
    ? { path: CLI, isCli: true }
    : { path: DRIVER, isCli: false }

export interface Line {
  readonly outcome: "ok" | "not_sent" | "outcome_unknown" | "refused"
  readonly address: string | null
  readonly attempts: number
  readonly elapsedMs: number
  readonly error: string | null
  readonly response: unknown
}

export interface Run {
  readonly code: number | null
  readonly lines: ReadonlyArray<Line>
  readonly stdout: string
  readonly stderr: string
  readonly wallMs: number
}

let bodies = 0
/** A body file with one AUTH holding the test card. */
export const authBody = (w: World, orderreference: string): string => {
  const file = Path.join(w.dir, `body-${process.pid}-${bodies++}.json`)
  Fs.writeFileSync(
    file,
    JSON.stringify({
      requesttypedescriptions: ["AUTH"],
      sitereference: "test_site12345",
      baseamount: "1050",
      currencyiso3a: "GBP",
      accounttypedescription: "ECOM",
      orderreference,
      pan: PAN,
      expirydate: EXPIRY,
      securitycode: CVV
    })
  )
  return file
}

/** Spawns the command with a clean environment; the process is killed after `killAfterMs`. */
const spawnStpp = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string>>,
  killAfterMs: number,
  onLine?: (line: Line, index: number) => void
): Promise<Omit<Run, "lines">> =>
  new Promise((resolve) => {
    const started = Date.now()
    const child = ChildProcess.spawn(process.execPath, argv, {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    let seen = 0
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString()
      if (onLine === undefined) return
      const complete = stdout.split("\n").slice(0, -1).filter((l) => l.trim().startsWith("{"))
      for (; seen < complete.length; seen++) {
        try {
          onLine(JSON.parse(complete[seen]) as Line, seen)
        } catch {
          // not a result line, or the callback failed: the test's assertions report it
        }
      }
    })
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, wallMs: Date.now() - started })
    })
  })

/** Runs `stpp request` against the world; the process is killed after `killAfterMs`. */
export const stpp = async (
  w: World,
  args: ReadonlyArray<string>,
  options: {
    readonly env?: Readonly<Record<string, string>>
    readonly killAfterMs?: number
    /** Called with each result line as it is printed (to steer the world between `--repeat` requests). */
    readonly onLine?: (line: Line, index: number) => void
  } = {}
): Promise<Run> => {
  const run = await spawnStpp(
    [stppCommand().path, "request", ...args],
    {
      STPP_USERNAME: w.username,
      STPP_PASSWORD: w.password,
      STPP_SITE_REFERENCE: "test_site12345",
      STPP_TRUST_STORE: "only",
      STPP_RETRY_BASE_DELAY: "50ms",
      STPP_RETRY_MAX_DELAY: "200ms",
      ...options.env
    },
    options.killAfterMs ?? 60_000,
    options.onLine
  )
  const lines: Array<Line> = []
  for (const l of run.stdout.split("\n")) {
    if (l.trim().startsWith("{")) {
      try {
        lines.push(JSON.parse(l) as Line)
      } catch {
        // not a result line
      }
    }
  }
  return { ...run, lines }
}

/**
 * The part of `stpp doctor --json`'s report the tests read (packages/cli/README.md; the CLI's own
 * `Doctor.Report` is not imported: the e2e package depends on the library, not on the CLI).
 */
export interface DoctorReport {
  readonly host: string
  readonly port: number
  readonly zone: string
  readonly nameservers: ReadonlyArray<{
    readonly nameserver: string
    readonly name: string | null
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
    readonly chain: ReadonlyArray<{
      readonly subject: string
      readonly issuer: string
      readonly notAfter: string
      readonly daysLeft: number
      readonly isCa: boolean
      readonly inTrustStore: boolean
    }>
    readonly error: string | null
    readonly message: string | null
  }>
  readonly problems: ReadonlyArray<string>
  readonly verdict: "healthy" | "problems found"
}

export interface DoctorRun extends Omit<Run, "lines"> {
  /** The parsed report when `--json` was given and standard output held one JSON object. */
  readonly report: DoctorReport | undefined
}

/**
 * Runs `stpp doctor --host NAME.zone --port <tls port> --ca <the world's root>` (trusting only that
 * root) plus `args`; the built CLI only (the stand-in driver has no doctor).
 */
export const stppDoctor = async (
  w: World,
  name: string,
  args: ReadonlyArray<string>,
  options: { readonly env?: Readonly<Record<string, string>>; readonly killAfterMs?: number } = {}
): Promise<DoctorRun> => {
  const run = await spawnStpp(
    [CLI, "doctor", "--host", `${name}.${w.zone}`, "--port", String(w.tlsPort), "--ca", w.caFile, ...args],
    { STPP_TRUST_STORE: "only", ...options.env },
    options.killAfterMs ?? 60_000
  )
  let report: DoctorReport | undefined
  try {
    report = JSON.parse(run.stdout) as DoctorReport
  } catch {
    report = undefined
  }
  return { ...run, report }
}

/** The usual options: the case's URL, the world's first nameserver, the world's root CA. */
export const baseArgs = (w: World, host: string, extra: ReadonlyArray<string> = []): Array<string> => [
  "--url",
  `https://${host}.${w.zone}:${w.tlsPort}/json/`,
  "--nameserver",
  `${w.nameservers[0]}:53`,
  "--ca",
  w.caFile,
  "--log-level",
  "debug",
  ...extra
]
