/**
 * The whole suite, each benchmark in its own node process, one after the other:
 *
 *   pnpm bench                       every benchmark
 *   pnpm bench -- warm dns           only those
 *
 * Benchmarks report; they never fail the build (this exits 0 unless a benchmark crashed).
 */
import { spawnSync } from "node:child_process"
import * as Os from "node:os"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"

const suite: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
  // each concurrency level in a fresh process (see warm.ts)
  ["warm", ["--concurrency=1"]],
  ["warm", ["--concurrency=16"]],
  ["warm", ["--concurrency=256"]],
  ["cold", []],
  ["dns", []],
  ["load", []],
  ["follow", []],
  ["redaction", ["20000", "7"]],
  ["overhead", []],
  ["httpClient", []],
  ["gateway", ["--concurrency=1"]],
  ["gateway", ["--concurrency=16"]],
  ["gateway", ["--concurrency=256"]],
  ["scale", []],
  ["startup", []],
  ["repeat", []]
]

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"))
const selected = wanted.length === 0 ? suite : suite.filter(([name]) => wanted.includes(name))
const cpu = Os.cpus()[0]?.model ?? "unknown CPU"
console.log(
  `stpp-connect benchmarks: node ${process.version}, ${Os.availableParallelism()} CPUs (${cpu}), ` +
    `${(Os.totalmem() / 1024 ** 3).toFixed(1)} GiB, ${new Date().toISOString()}`
)
let failed = 0
const t0 = performance.now()
for (const [name, args] of selected) {
  const file = fileURLToPath(new URL(`./${name}.js`, import.meta.url))
  const title = [name, ...args].join(" ")
  console.log(`\n=== ${title} ${"=".repeat(Math.max(0, 90 - title.length))}`)
  const started = performance.now()
  const result = spawnSync(process.execPath, [file, ...args], { stdio: "inherit", timeout: 180_000 })
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  if (result.status !== 0) {
    failed++
    console.log(`(${title} did not finish: exit ${result.status}, signal ${result.signal}, after ${seconds} s)`)
  } else {
    console.log(`(${title}: ${seconds} s)`)
  }
}
console.log(`\nwhole suite: ${((performance.now() - t0) / 1000).toFixed(0)} s`)
process.exitCode = failed === 0 ? 0 : 1
