/**
 * Summarises a V8 .cpuprofile: the functions with the most self time, and the packages they are in.
 *
 *   node bench/build/top.js <file.cpuprofile> [count]
 */
import * as Fs from "node:fs"

interface Node {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<Node>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const file = process.argv[2]
const count = Number(process.argv[3] ?? 30)
const profile = JSON.parse(Fs.readFileSync(file, "utf8")) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map<number, number>()
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
const total = [...self.values()].reduce((a, b) => a + b, 0)

const where = (url: string): string => {
  const m = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (m !== null) return m[1]
  if (url.includes("/packages/connect/")) return "@stpp/connect"
  if (url.includes("/bench/")) return "bench"
  if (url.startsWith("node:")) return "node"
  return url === "" ? "(vm)" : url.replace(/^.*\//, "")
}

const fns = new Map<string, number>()
const pkgs = new Map<string, number>()
for (const [id, t] of self) {
  const n = byId.get(id)!
  const key = `${n.callFrame.functionName || "(anonymous)"}  ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`
  fns.set(key, (fns.get(key) ?? 0) + t)
  const p = where(n.callFrame.url)
  pkgs.set(p, (pkgs.get(p) ?? 0) + t)
}
const pct = (t: number) => `${((t / total) * 100).toFixed(1).padStart(5)} %`
console.log(`total sampled ${(total / 1000).toFixed(0)} ms\n\nself time by package`)
for (const [p, t] of [...pkgs].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${pct(t)}  ${p}`)
console.log(`\nself time by function (top ${count})`)
for (const [f, t] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, count)) console.log(`${pct(t)}  ${f}`)
