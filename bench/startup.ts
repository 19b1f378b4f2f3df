/**
 * Start-up of the `stpp` command (P2), as whole processes: `stpp --version` and one
 * `stpp request` (an AUTH against the simulator started here, in this process) run from the bundle
 * users get (`packages/cli/bin/stpp.js` -> `dist/bundle/stpp.cjs`; with its V8 code cache, which the
 * unmeasured first round writes into this run's temporary directory, and, for `request`, without
 * one: `STPP_CODE_CACHE_DIR` empty, as a command's first run) and unbundled
 * (`packages/cli/dist/bin.js`, what tsc emits), against a bare `node -e ""`. Each process is timed from spawn to exit (wall) and,
 * when `/usr/bin/time` exists, its CPU (user + system). Rounds as in warm.ts: each round runs every
 * command once, starting with the next one; ratios are taken round by round against the bare node
 * process of the same round.
 *
 *   node bench/build/startup.js [--runs=7]
 */
import * as Simulator from "@stpp/simulator/Simulator"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import {
  arg,
  envWithoutStpp,
  fmt,
  fmtPaired,
  interleaved,
  median,
  note,
  paired,
  type RunResult,
  table,
  timedNode,
  withTime
} from "./Harness.js"

const RUNS = arg("runs", 7)
const root = fileURLToPath(new URL("../..", import.meta.url))
const BUNDLED = Path.join(root, "packages/cli/bin/stpp.js")
const UNBUNDLED = Path.join(root, "packages/cli/dist/bin.js")

for (const file of [BUNDLED, UNBUNDLED, Path.join(root, "packages/cli/dist/bundle/stpp.cjs")]) {
  if (!Fs.existsSync(file)) throw new Error(`${file} is missing: run \`pnpm build\` first`)
}

const scope = Effect.runSync(Scope.make())
const sim = await Effect.runPromise(
  Simulator.start({ addresses: ["127.0.9.1"], dnsAddress: "127.0.9.53" }).pipe(Scope.extend(scope))
)
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "stpp-bench-startup-"))
const body = Path.join(dir, "auth.json")
Fs.writeFileSync(
  body,
  JSON.stringify({
    requesttypedescriptions: ["AUTH"],
    baseamount: "1050",
    currencyiso3a: "GBP",
    accounttypedescription: "ECOM",
    orderreference: "bench-startup",
    pan: "4111111111111111",
    expirydate: "12/2030",
    securitycode: "123"
  })
)

const env = envWithoutStpp()
// The bundle's code cache (written by the first run of each command: the unmeasured round) in this
// run's own directory; the "no code cache" rows set it empty, as a first run or a cache-less user.
Object.assign(env, sim.env, { NO_COLOR: "1", STPP_CODE_CACHE_DIR: Path.join(dir, "code-cache") })
const noCache = { ...env, STPP_CODE_CACHE_DIR: "" }

/** One process to its exit: `elapsedMillis` wall from spawn, `cpuMicros` from /usr/bin/time (or NaN). */
const runOnce = (args: ReadonlyArray<string>, expect: RegExp, childEnv = env) => async (): Promise<RunResult> => {
  const { code, cpuMillis, stdout, wallMillis } = await timedNode(args, childEnv, dir)
  const failed = code !== 0 || !expect.test(stdout)
  if (failed) note(`(${args.slice(0, 3).join(" ")}: exit ${code}, stdout ${JSON.stringify(stdout.slice(0, 200))})`)
  return {
    requests: 1,
    errors: failed ? 1 : 0,
    elapsedMillis: wallMillis,
    cpuMicros: cpuMillis * 1000,
    busyMicros: Number.NaN,
    latencies: [],
    firstError: failed ? `exit ${code}` : undefined
  }
}

const version = /^\d+\.\d+\.\d+/
const authorised = /"errorcode":"0"/
const commands: ReadonlyArray<readonly [string, () => Promise<RunResult>]> = [
  ["node -e \"\" (baseline)", runOnce(["-e", ""], /^$/)],
  ["stpp --version, unbundled (dist/bin.js)", runOnce([UNBUNDLED, "--version"], version)],
  ["stpp --version, bundled (bin/stpp.js)", runOnce([BUNDLED, "--version"], version)],
  ["stpp request, unbundled (dist/bin.js)", runOnce([UNBUNDLED, "request", "--body", body], authorised)],
  ["stpp request, bundled, no code cache", runOnce([BUNDLED, "request", "--body", body], authorised, noCache)],
  ["stpp request, bundled (bin/stpp.js)", runOnce([BUNDLED, "request", "--body", body], authorised)]
]

try {
  // one unmeasured round: the file system cache warm for every command
  for (const [, run] of commands) await run()
  const results = await interleaved(commands, RUNS, 1)
  const baseline = results.get(commands[0][0])!
  table(
    `start-up, whole processes, ${RUNS} rounds (${
      withTime ? "CPU from /usr/bin/time" : "no /usr/bin/time: no CPU"
    }); targets: --version <= 2.5x, request <= 4x the bare node process`,
    ["command", "wall ms p50", "CPU ms p50", "wall vs node -e (range)", "CPU vs node -e (range)", "errors"],
    commands.map(([name]) => {
      const runs = results.get(name)!
      return [
        name,
        fmt(median(runs.map((x) => x.elapsedMillis))),
        fmt(median(runs.map((x) => x.cpuMicros / 1000))),
        fmtPaired(paired(runs, baseline, (x) => x.elapsedMillis)),
        fmtPaired(paired(runs, baseline, (x) => x.cpuMicros)),
        fmt(runs.reduce((n, x) => n + x.errors, 0))
      ]
    })
  )
} finally {
  Fs.rmSync(dir, { recursive: true, force: true })
  await Effect.runPromise(Scope.close(scope, Exit.void))
}
