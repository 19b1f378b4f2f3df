/**
 * What every benchmark shares: a test CA and certificate, TLS servers on loopback in a worker
 * thread, DNS servers from the simulator, the ConnectionService built on them, closed-loop load
 * drivers, statistics and plain-text tables. Bench code only: it reads the wall clock freely.
 */
import * as ConnectionConfig from "@stpp/connect/ConnectionConfig"
import * as ConnectionService from "@stpp/connect/ConnectionService"
import { DnsServer, TestCa } from "@stpp/simulator"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Scope from "effect/Scope"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { performance } from "node:perf_hooks"
import { Worker } from "node:worker_threads"

export const HOST = "gateway.stpp.test"

/** The request every client sends: the same headers and body. */
export const BODY = JSON.stringify({
  alias: "webservices@merchant.example",
  version: "1.00",
  request: [{
    requesttypedescriptions: ["AUTH"],
    sitereference: "test_site12345",
    accounttypedescription: "ECOM",
    currencyiso3a: "GBP",
    baseamount: "1050",
    orderreference: "order-2024-000123"
  }]
})
export const HEADERS: Readonly<Record<string, string>> = { "content-type": "application/json" }
export const PATH = "/json/"

// -----------------------------------------------------------------------------
// statistics and tables
// -----------------------------------------------------------------------------

export const median = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/** Nearest-rank percentile of an unsorted sample. */
export const percentile = (xs: ReadonlyArray<number>, p: number): number => {
  if (xs.length === 0) return Number.NaN
  const s = Float64Array.from(xs).sort()
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]
}

export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString("en-GB", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "-"

export const ratio = (n: number, base: number, digits = 2): string =>
  Number.isFinite(n / base) ? `${(n / base).toFixed(digits)}x` : "-"

/**
 * Runs each client once per round, `rounds` times, each round starting with the next client, so
 * that no client always runs right after the same other one; returns each client's runs in round
 * order (run i of every client was measured in round i).
 */
export const interleaved = async (
  clients: ReadonlyArray<readonly [string, (n: number) => Promise<RunResult>]>,
  rounds: number,
  requests: number
): Promise<Map<string, Array<RunResult>>> => {
  const results = new Map<string, Array<RunResult>>(clients.map(([name]) => [name, []]))
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < clients.length; k++) {
      const [name, run] = clients[(r + k) % clients.length]
      results.get(name)!.push(await run(requests))
    }
  }
  return results
}

/** A ratio measured round by round: its median and its range over the rounds. */
export interface Paired {
  readonly median: number
  readonly min: number
  readonly max: number
}

/**
 * `figure` of each run over the same figure of the baseline's run in the same round. Pairing by
 * round cancels the machine's slow swings (several tens of per cent in absolute figures between
 * rounds here), which a ratio of two medians does not.
 */
export const paired = (
  runs: ReadonlyArray<RunResult>,
  baseline: ReadonlyArray<RunResult>,
  figure: (r: RunResult) => number
): Paired => {
  const ratios = runs.map((r, i) => figure(r) / figure(baseline[i]))
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) }
}

/** "0.91x (0.84-0.97)": the median ratio over rounds and its range. */
export const fmtPaired = (p: Paired): string =>
  Number.isFinite(p.median) ? `${p.median.toFixed(2)}x (${p.min.toFixed(2)}-${p.max.toFixed(2)})` : "-"

/** Prints a plain-text table: numbers right-aligned, text left-aligned. */
export const table = (
  title: string,
  headers: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>
): void => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const numeric = headers.map((_, i) => rows.every((r) => /^[-+\d.,x% <>≤≥()]*$/.test(r[i] ?? "")))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd()
  const out = [title, line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)]
  console.log(`\n${out.join("\n")}`)
}

export const note = (text: string): void => console.log(text)

// -----------------------------------------------------------------------------
// process facts
// -----------------------------------------------------------------------------

export const openFds = (): number => Fs.readdirSync("/proc/self/fd").length

export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

export const gc = async (): Promise<void> => {
  const g = (globalThis as { gc?: () => void }).gc
  if (g !== undefined) {
    g()
    await sleep(20)
    g()
  }
}

export const sleep = (millis: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, millis))

// -----------------------------------------------------------------------------
// certificates
// -----------------------------------------------------------------------------

export interface Certificates {
  /** The root the clients trust, PEM. */
  readonly ca: string
  /** Same root in a file, for `STPP_CA_FILE`. */
  readonly caFile: string
  readonly key: string
  /** Leaf plus intermediate, what the server sends. */
  readonly chain: string
  readonly dispose: () => void
}

export const certificates = async (): Promise<Certificates> => {
  const { ca, leaf } = await Effect.runPromise(Effect.gen(function*() {
    const ca = yield* TestCa.make()
    const leaves = yield* TestCa.leaves(ca, HOST)
    return { ca, leaf: leaves.good }
  }))
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "stpp-bench-"))
  const caFile = Path.join(dir, "root.pem")
  Fs.writeFileSync(caFile, ca.root.cert)
  return {
    ca: ca.root.cert,
    caFile,
    key: leaf.key,
    chain: leaf.chain,
    dispose: () => Fs.rmSync(dir, { recursive: true, force: true })
  }
}

// -----------------------------------------------------------------------------
// TLS servers (worker thread)
// -----------------------------------------------------------------------------

export interface ServerStats {
  readonly requests: Readonly<Record<string, number>>
  readonly connections: Readonly<Record<string, number>>
  /** Of those, the handshakes that resumed a TLS session. */
  readonly resumed: Readonly<Record<string, number>>
}

export interface TlsServers {
  readonly port: number
  /** Requests answered and TLS connections accepted so far, per address. */
  readonly stats: () => Promise<ServerStats>
  /** Closes every server and socket and ends the worker. */
  readonly close: () => Promise<void>
}

const startWorker = (
  addresses: ReadonlyArray<string>,
  certs: Certificates,
  keepAliveTimeoutMillis: number,
  port: number
): Promise<TlsServers> =>
  new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./TlsServerWorker.js", import.meta.url), {
      workerData: { addresses, key: certs.key, cert: certs.chain, keepAliveTimeoutMillis, port }
    })
    const exited = new Promise<void>((r) => worker.once("exit", () => r()))
    worker.once("error", reject)
    worker.once("message", (m: { port?: number; error?: string }) => {
      if (m.error !== undefined || m.port === undefined) {
        void worker.terminate().then(() => reject(new Error(m.error ?? "no port")))
        return
      }
      const ask = <A>(message: string, key: string) =>
        new Promise<A>((r) => {
          const on = (answer: Record<string, unknown>) => {
            if (key in answer) {
              worker.off("message", on)
              r(answer[key] as A)
            }
          }
          worker.on("message", on)
          worker.postMessage(message)
        })
      resolve({
        port: m.port,
        stats: () => ask<ServerStats>("stats", "stats"),
        close: async () => {
          await ask("close", "closed")
          await exited
        }
      })
    })
  })

/** TLS servers on `addresses` (all 127.x), one port (random unless given), in a worker thread. */
export const tlsServers = async (
  addresses: ReadonlyArray<string>,
  certs: Certificates,
  options: { readonly keepAliveTimeoutMillis?: number; readonly port?: number } = {}
): Promise<TlsServers> => {
  for (let i = 0;; i++) {
    try {
      return await startWorker(addresses, certs, options.keepAliveTimeoutMillis ?? 30_000, options.port ?? 0)
    } catch (e) {
      // the random port of the first address may be taken on another: try again
      if (i >= 5 || options.port !== undefined) throw e
    }
  }
}

// -----------------------------------------------------------------------------
// DNS servers (the simulator's, in this process)
// -----------------------------------------------------------------------------

export interface DnsServers {
  readonly servers: ReadonlyArray<DnsServer.DnsServer>
  readonly run: <A>(effect: Effect.Effect<A>) => Promise<A>
  readonly close: () => Promise<void>
}

/** DNS servers on `addresses`, all on one port, serving `records` in the given modes. */
export const dnsServers = async (
  specs: ReadonlyArray<{ readonly address: string; readonly mode?: DnsServer.Mode }>,
  records: ReadonlyArray<DnsServer.ZoneRecord>
): Promise<DnsServers> => {
  const scope = Effect.runSync(Scope.make())
  const servers = await Effect.runPromise(
    Effect.gen(function*() {
      const out: Array<DnsServer.DnsServer> = []
      for (const spec of specs) {
        out.push(
          yield* DnsServer.make({
            address: spec.address,
            port: out[0]?.port ?? 0,
            records,
            mode: spec.mode ?? "answer"
          })
        )
      }
      return out
    }).pipe(Scope.extend(scope))
  )
  return {
    servers,
    run: (effect) => Effect.runPromise(effect),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

// -----------------------------------------------------------------------------
// the ConnectionService on those servers
// -----------------------------------------------------------------------------

export type Service = ConnectionService.ConnectionService["Type"]

export interface ServiceRuntime {
  readonly runtime: ManagedRuntime.ManagedRuntime<ConnectionService.ConnectionService, unknown>
  readonly service: Service
  readonly dispose: () => Promise<void>
}

export const connectionService = async (
  port: number,
  nameservers: ReadonlyArray<string>,
  certs: Certificates,
  settings: ConnectionConfig.ConnectionSettingsInput = {}
): Promise<ServiceRuntime> => {
  const layer = ConnectionService.layerWithoutConfig.pipe(
    Layer.provide(ConnectionConfig.layer({
      url: `https://${HOST}:${port}${PATH}`,
      nameservers: [...nameservers],
      dnsDiscovery: false,
      trustStore: "only",
      caFiles: [certs.caFile],
      ...settings
    }))
  )
  const runtime = ManagedRuntime.make(layer)
  const service = await runtime.runPromise(ConnectionService.ConnectionService)
  return { runtime, service, dispose: () => runtime.dispose() }
}

// -----------------------------------------------------------------------------
// load
// -----------------------------------------------------------------------------

export interface RunResult {
  readonly requests: number
  readonly errors: number
  readonly elapsedMillis: number
  /** Latency of each successful request, ms. */
  readonly latencies: ReadonlyArray<number>
  /** The first error, as text, if any. */
  readonly firstError: string | undefined
  /** CPU time of the whole process (client and the server's worker thread), µs. */
  readonly cpuMicros: number
  /** Time the client's event loop (the main thread) was busy, µs: the client's own cost. */
  readonly busyMicros: number
}

export const perSecond = (r: RunResult): number => (r.requests - r.errors) / (r.elapsedMillis / 1000)

export const cpuPerRequest = (r: RunResult): number => r.cpuMicros / r.requests

/** Busy time of the client's event loop per request, µs. */
export const busyPerRequest = (r: RunResult): number => r.busyMicros / r.requests

/**
 * A closed loop with Promises: `concurrency` workers, each sending its next request when the last
 * one answered, until `total` requests were sent.
 */
export const loadPromise = async (
  total: number,
  concurrency: number,
  send: () => Promise<unknown>
): Promise<RunResult> => {
  const latencies: Array<number> = []
  let next = 0
  let errors = 0
  let firstError: string | undefined
  const c0 = process.cpuUsage()
  const e0 = performance.eventLoopUtilization()
  const t0 = performance.now()
  const worker = async () => {
    while (next < total) {
      next++
      const s = performance.now()
      try {
        await send()
        latencies.push(performance.now() - s)
      } catch (e) {
        errors++
        firstError ??= String(e)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker))
  const elapsedMillis = performance.now() - t0
  const c = process.cpuUsage(c0)
  const busyMicros = performance.eventLoopUtilization(e0).active * 1000
  return { requests: total, errors, elapsedMillis, latencies, firstError, cpuMicros: c.user + c.system, busyMicros }
}

/** The same closed loop as Effect fibers, the way an Effect application calls the service. */
export const loadEffect = <A, E>(
  runtime: ManagedRuntime.ManagedRuntime<ConnectionService.ConnectionService, unknown>,
  total: number,
  concurrency: number,
  send: Effect.Effect<A, E>
): Promise<RunResult> => {
  const latencies: Array<number> = []
  let next = 0
  let errors = 0
  let firstError: string | undefined
  const one = Effect.suspend(() => {
    const s = performance.now()
    return Effect.matchEffect(send, {
      onFailure: (e) =>
        Effect.sync(() => {
          errors++
          firstError ??= String(e)
        }),
      onSuccess: () => Effect.sync(() => void latencies.push(performance.now() - s))
    })
  })
  const worker = Effect.whileLoop({
    while: () => next < total,
    body: () => Effect.suspend(() => (next++, one)),
    step: () => undefined
  })
  return runtime.runPromise(Effect.gen(function*() {
    const c0 = process.cpuUsage()
    const e0 = performance.eventLoopUtilization()
    const t0 = performance.now()
    yield* Effect.all(Array.from({ length: Math.min(concurrency, total) }, () => worker), {
      concurrency: "unbounded",
      discard: true
    })
    const elapsedMillis = performance.now() - t0
    const c = process.cpuUsage(c0)
    const busyMicros = performance.eventLoopUtilization(e0).active * 1000
    return { requests: total, errors, elapsedMillis, latencies, firstError, cpuMicros: c.user + c.system, busyMicros }
  }))
}

/** One POST through the ConnectionService, its body read whole. */
export const servicePost = (service: Service) => service.request({ path: PATH, body: BODY, headers: HEADERS })

// -----------------------------------------------------------------------------
// rounds: warm-up, interleaved runs, paired ratios, the summary table
// -----------------------------------------------------------------------------

/** A client measured in rounds: its name (a row of the table) and one run of `n` requests. */
export type Client = readonly [name: string, run: (n: number) => Promise<RunResult>]

/** A client's runs (run i measured in round i) and, for ratios, the runs of every client by row. */
export interface Measured {
  readonly name: string
  readonly runs: ReadonlyArray<RunResult>
  /** The runs of the client in row `index` (0: the baseline), measured in the same rounds. */
  readonly row: (index: number) => ReadonlyArray<RunResult>
}

/** A column of the summary table: its header and the cell of one client. */
export type Column = readonly [header: string, cell: (m: Measured) => string]

/** Per-run figures: the summary shows the median over the runs. */
export const p50 = (r: RunResult): number => percentile(r.latencies, 50)
export const p99 = (r: RunResult): number => percentile(r.latencies, 99)
export const meanLatency = (r: RunResult): number => r.latencies.reduce((a, b) => a + b, 0) / r.latencies.length

/** Columns the benchmarks share. */
export const column = {
  /** The client's name. */
  client: ["client", (m) => m.name] as Column,
  /** The median over the runs of a per-run figure, with `digits` decimals. */
  median: (header: string, figure: (r: RunResult) => number, digits = 0): Column => [
    header,
    (m) => fmt(median(m.runs.map(figure)), digits)
  ],
  /** Failed requests over all runs. */
  errors: ["errors", (m) => fmt(m.runs.reduce((n, r) => n + r.errors, 0))] as Column,
  /** `figure` over the same figure of row `against` round by round: "0.91x (0.84-0.97)". */
  vs: (header: string, against: number, figure: (r: RunResult) => number): Column => [
    header,
    (m) => fmtPaired(paired(m.runs, m.row(against), figure))
  ],
  /** The same ratio, its median only: "0.91x". */
  vsMedian: (header: string, against: number, figure: (r: RunResult) => number): Column => [
    header,
    (m) => `${paired(m.runs, m.row(against), figure).median.toFixed(2)}x`
  ]
}

export interface RoundsOptions {
  /** The title of the summary table. */
  readonly title: string
  /** The clients, the baseline first; each is a row of the table. */
  readonly clients: ReadonlyArray<Client>
  /** Requests in a run. */
  readonly requests: number
  /** Rounds: runs per client. */
  readonly runs: number
  /** Requests of each client's warm-up run (not measured). */
  readonly warmUp: number
  readonly columns: ReadonlyArray<Column>
  /** Called after the warm-up runs, before the measured ones (e.g. to read the server's counters). */
  readonly afterWarmUp?: (() => Promise<void>) | undefined
}

/**
 * The measuring loop of the comparative benchmarks: one warm-up run per client, then `runs`
 * rounds of one run per client ({@link interleaved}), then the summary table (one row per client,
 * ratios paired round by round: {@link paired}) and each client's first error. Returns the runs.
 */
export const rounds = async (options: RoundsOptions): Promise<ReadonlyMap<string, ReadonlyArray<RunResult>>> => {
  for (const [, run] of options.clients) await run(options.warmUp)
  await options.afterWarmUp?.()
  const results = await interleaved(options.clients, options.runs, options.requests)
  const row = (index: number) => results.get(options.clients[index][0])!
  const measured = options.clients.map(([name]): Measured => ({ name, runs: results.get(name)!, row }))
  table(
    options.title,
    options.columns.map(([header]) => header),
    measured.map((m) => options.columns.map(([, cell]) => cell(m)))
  )
  for (const m of measured) {
    const firstError = m.runs.find((r) => r.firstError !== undefined)?.firstError
    if (firstError !== undefined) note(`  first error (${m.name}): ${firstError}`)
  }
  return results
}

/**
 * The sizes of a benchmark run at several concurrency levels: `--concurrency=N` for one level
 * only, `--requests=N` for every level (else `sizes` by level, 10,000 for a level not listed),
 * `--runs=N` (else `runs`).
 */
export const levels = (defaults: {
  readonly levels: ReadonlyArray<number>
  readonly sizes: Readonly<Record<number, number>>
  readonly runs: number
}): {
  readonly concurrency: ReadonlyArray<number>
  readonly requestsAt: (concurrency: number) => number
  readonly runs: number
} => {
  const requests = arg("requests", 0)
  const only = arg("concurrency", 0)
  return {
    concurrency: only > 0 ? [only] : defaults.levels,
    requestsAt: (concurrency) => requests > 0 ? requests : defaults.sizes[concurrency] ?? 10_000,
    runs: arg("runs", defaults.runs)
  }
}

/** Arguments: `--runs=N` and `--requests=N` style overrides. */
export const arg = (name: string, fallback: number): number => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`))
  return hit === undefined ? fallback : Number(hit.slice(name.length + 3))
}

// -----------------------------------------------------------------------------
// whole processes (startup.ts, repeat.ts)
// -----------------------------------------------------------------------------

const TIME = "/usr/bin/time"

/** Whether processes get their CPU measured (`/usr/bin/time` is there). */
export const withTime: boolean = Fs.existsSync(TIME)

/** This process's environment without any `STPP_*` variable, for a child configured from scratch. */
export const envWithoutStpp = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("STPP_")) env[k] = v
  return env
}

export interface TimedProcess {
  readonly code: number | null
  readonly stdout: string
  /** From spawn to exit. */
  readonly wallMillis: number
  /** User + system, from `/usr/bin/time` (NaN without it). */
  readonly cpuMillis: number
}

/**
 * One node process (`node ...args`) to its exit, its standard error read and dropped, killed after
 * 60 s; `dir` holds `/usr/bin/time`'s output file.
 */
export const timedNode = async (
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>>,
  dir: string
): Promise<TimedProcess> => {
  const timeFile = Path.join(dir, "time.txt")
  const [command, argv] = withTime
    ? [TIME, ["-f", "%U %S", "-o", timeFile, process.execPath, ...args]] as const
    : [process.execPath, args] as const
  const started = process.hrtime.bigint()
  const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
    const child = spawn(command, argv, { env, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d))
    child.stderr.resume() // the command's log lines
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.on("error", reject)
    child.on("close", (status) => {
      clearTimeout(timer)
      resolve({ code: status, stdout: out })
    })
  })
  const wallMillis = Number(process.hrtime.bigint() - started) / 1e6
  let cpuMillis = Number.NaN
  if (withTime) {
    const [user, system] = Fs.readFileSync(timeFile, "utf8").trim().split("\n").at(-1)!.split(" ").map(Number)
    cpuMillis = (user + system) * 1000
  }
  return { code, stdout, wallMillis, cpuMillis }
}
