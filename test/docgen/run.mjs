// `pnpm docgen`: @effect/docgen for each package, as the Effect packages use it: every export has
// `@since`, every JSDoc `@example` type-checks (strict) and runs. Output goes to packages/*/build/docgen.
// docgen reads `name` and `homepage` from the package.json in its working directory; the packages
// publish no homepage, so it runs in a staging directory holding a package.json with both, the
// package's docgen.json and a link to its src.
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"

const root = Path.resolve(import.meta.dirname, "../..")
const names = process.argv.length > 2 ? process.argv.slice(2) : ["connect", "gateway", "simulator", "cli"]
const bin = Path.join(root, "node_modules/.bin")
const env = { ...process.env, PATH: `${bin}${Path.delimiter}${process.env.PATH ?? ""}` }

let failed = 0
for (const name of names) {
  const pkg = Path.join(root, "packages", name)
  const stage = Path.join(pkg, "build/docgen")
  Fs.rmSync(stage, { recursive: true, force: true })
  Fs.mkdirSync(stage, { recursive: true })
  const manifest = JSON.parse(Fs.readFileSync(Path.join(pkg, "package.json"), "utf8"))
  Fs.writeFileSync(
    Path.join(stage, "package.json"),
    JSON.stringify({ name: manifest.name, homepage: manifest.homepage ?? "" }, null, 2)
  )
  Fs.copyFileSync(Path.join(pkg, "docgen.json"), Path.join(stage, "docgen.json"))
  Fs.symlinkSync("../../src", Path.join(stage, "src"))
  console.log(`docgen: ${manifest.name}`)
  const run = spawnSync(Path.join(bin, "docgen"), [], { cwd: stage, env, stdio: "inherit" })
  if (run.status !== 0) {
    failed++
    console.error(`docgen: ${manifest.name} failed (exit ${run.status ?? run.signal})`)
  }
}
process.exitCode = failed === 0 ? 0 : 1
