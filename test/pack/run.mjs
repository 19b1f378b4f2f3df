// `pnpm test:pack` (E5): the packages as a new user gets them. Packs every package with `pnpm pack`,
// checks what each tarball holds, installs the tarballs with npm into a fresh project in a temp dir
// (effect & co. from the registry, pinned as the workspace pins them), type-checks a small app and
// copies of examples/*.ts (strict, TypeScript from the workspace's pin) under moduleResolution
// node16, bundler and node10, then runs them, and `stpp request`, against the simulator started
// from the installed package's `stpp-simulator` bin. Expects a build (`tsc --build`) first.
// STPP_PACK_KEEP=1 keeps the temp dir; it is also kept, and named, when a step fails.
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const root = Path.resolve(import.meta.dirname, "../..")
const work = Fs.mkdtempSync(Path.join(Os.tmpdir(), "stpp-pack-"))
const tarballs = Path.join(work, "tarballs")
const app = Path.join(work, "app")
const rootManifest = readJson(Path.join(root, "package.json"))
const pins = rootManifest.devDependencies
const testPans = ["4111111111111111", "5555555555554444", "4000000000000002"]
// What a runnable example must print, besides exiting 0 (examples not listed: exit 0 only).
// multi-merchant.ts starts its own two simulators (two merchants, two gateways) beside this one.
const expectedOutput = {
  "payment.ts": /Authorised/,
  "retry-policy.ts": /connected on attempt 4/,
  "multi-merchant.ts": /merchant A: Authorised, merchant B: Authorised/
}

function readJson(file) {
  return JSON.parse(Fs.readFileSync(file, "utf8"))
}

function fail(message) {
  throw new Error(message)
}

// A child's environment without the npm_config_* / pnpm settings of the `pnpm test:pack` run.
function cleanEnv(extra = {}) {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|PNPM_|pnpm_)/i.test(k) && !k.startsWith("STPP_")) env[k] = v
  }
  return { ...env, ...extra }
}

// Runs a command to its end (killed after timeoutMs), collecting its output.
function run(command, args, { cwd, env = cleanEnv(), timeoutMs = 300_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.on("error", reject)
    child.on("close", (status, signal) => {
      clearTimeout(timer)
      resolve({ status, signal, stdout, stderr, output: stdout + stderr })
    })
  })
}

async function must(what, command, args, options) {
  const r = await run(command, args, options)
  if (r.status !== 0) fail(`${what}: exit ${r.status ?? r.signal}\n${r.output.slice(-6000)}`)
  return r
}

async function step(name, body) {
  const t0 = process.hrtime.bigint()
  process.stdout.write(`pack: ${name} ...\n`)
  const result = await body()
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  process.stdout.write(`pack: ${name}: ok (${seconds.toFixed(1)} s)\n`)
  return result
}

const packageDirs = Fs.readdirSync(Path.join(root, "packages"))
  .map((d) => Path.join(root, "packages", d))
  .filter((d) => Fs.existsSync(Path.join(d, "package.json")) && !readJson(Path.join(d, "package.json")).private)
  .sort()

// What no tarball may hold: tests, build output other than dist, configs, generated docs.
const forbidden = [
  /(^|\/)test\//,
  /\.test\.[cm]?[jt]s/,
  /^build\//,
  /^docs\//,
  /(^|\/)tsconfig[^/]*\.json$/,
  /\.tsbuildinfo$/,
  /^docgen\.json$/,
  /(^|\/)node_modules\//
]

function targetsOf(manifest) {
  const targets = [manifest.main, manifest.types, ...Object.values(manifest.bin ?? {})]
  for (const [key, value] of Object.entries(manifest.exports ?? {})) {
    if (value === null || key.includes("*")) continue
    targets.push(...Object.values(typeof value === "string" ? { default: value } : value))
  }
  return targets.filter((t) => typeof t === "string").map((t) => t.replace(/^\.\//, ""))
}

async function packAll() {
  const packed = []
  for (const dir of packageDirs) {
    const r = await must(`pnpm pack in ${dir}`, "pnpm", ["pack", "--pack-destination", tarballs, "--json"], {
      cwd: dir,
      env: { ...process.env }
    })
    const info = JSON.parse(r.stdout.slice(r.stdout.indexOf("{")))
    const files = info.files.map((f) => f.path)
    const bad = files.filter((f) => forbidden.some((re) => re.test(f)))
    if (bad.length > 0) fail(`${info.name}: the tarball holds files it must not: ${bad.join(", ")}`)
    for (const need of ["package.json", "README.md", "LICENSE", "dist/index.js", "dist/index.d.ts"]) {
      if (!files.includes(need)) fail(`${info.name}: the tarball lacks ${need}`)
    }
    const extracted = Path.join(work, "extracted", info.name)
    Fs.mkdirSync(extracted, { recursive: true })
    await must("tar", "tar", ["-xzf", info.filename, "-C", extracted])
    const manifestText = Fs.readFileSync(Path.join(extracted, "package/package.json"), "utf8")
    if (manifestText.includes("workspace:")) fail(`${info.name}: the packed package.json still says workspace:`)
    const manifest = JSON.parse(manifestText)
    for (const target of targetsOf(manifest)) {
      if (!files.includes(target)) fail(`${info.name}: package.json points at ${target}, not in the tarball`)
    }
    for (const bin of Object.values(manifest.bin ?? {})) {
      const first = Fs.readFileSync(Path.join(extracted, "package", bin), "utf8").split("\n")[0]
      if (first !== "#!/usr/bin/env node") fail(`${info.name}: bin ${bin} does not start with #!/usr/bin/env node`)
    }
    process.stdout.write(`  ${Path.basename(info.filename)}: ${files.length} files\n`)
    packed.push({ name: info.name, file: info.filename, manifest })
  }
  return packed
}

const APP = `// Compiles only if every package's types are found (an \`any\` fails NotAny), and runs.
import { ConnectionConfig, ConnectionService, Redact, RetryPolicy } from "@stpp/connect"
import * as ConnectionServiceModule from "@stpp/connect/ConnectionService"
import { GatewayClient, GatewayError } from "@stpp/gateway"
import * as GatewayClientModule from "@stpp/gateway/GatewayClient"
import { Simulator, TestCa } from "@stpp/simulator"
import * as SimulatorModule from "@stpp/simulator/Simulator"
import { Cli } from "@stpp/cli"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

type IsAny<T> = 0 extends 1 & T ? true : false
type NotAny<T> = IsAny<T> extends true ? never : true

export const found: ReadonlyArray<true> = [
  true satisfies NotAny<typeof ConnectionService.layer>,
  true satisfies NotAny<typeof ConnectionServiceModule.layerTest>,
  true satisfies NotAny<typeof ConnectionConfig.layer>,
  true satisfies NotAny<typeof RetryPolicy.retry>,
  true satisfies NotAny<typeof Redact.string>,
  true satisfies NotAny<typeof GatewayClient.layerConfig>,
  true satisfies NotAny<typeof GatewayClientModule.GatewayClient>,
  true satisfies NotAny<typeof GatewayError>,
  true satisfies NotAny<typeof Simulator.start>,
  true satisfies NotAny<typeof SimulatorModule.HOSTNAME>,
  true satisfies NotAny<typeof TestCa.make>,
  true satisfies NotAny<typeof Cli.run>
]

const Live = GatewayClient.layerConfig.pipe(Layer.provideMerge(ConnectionService.layer))
export const live: NotAny<typeof Live> = true
const masked: string = Redact.string("card 4111111111111111")
const hostname: string = Effect.runSync(Effect.succeed(SimulatorModule.HOSTNAME))

const checks: Record<string, boolean> = {
  "one module behind the index and the deep import": ConnectionServiceModule.layer === ConnectionService.layer &&
    GatewayClientModule.GatewayClient === GatewayClient.GatewayClient && SimulatorModule.start === Simulator.start,
  "a layer value": Layer.isLayer(Live),
  "redaction": masked === "card 411111******1111",
  "the simulator's host name": hostname === "webservices.securetrading.test"
}
const hidden = "@stpp/connect/internal/pool"
import(hidden).then(
  () => {
    console.log("internal modules are importable: they must not be")
    process.exitCode = 1
  },
  (e: { readonly code?: string }) => {
    checks["internal modules not exported"] = e.code === "ERR_PACKAGE_PATH_NOT_EXPORTED"
    for (const [name, ok] of Object.entries(checks)) {
      console.log(\`\${ok ? "ok" : "FAILED"}: \${name}\`)
      if (!ok) process.exitCode = 1
    }
  }
)
`

// node16 also checks the packages' declaration files (skipLibCheck off: slower); under bundler and
// node10 the point is resolution, which NotAny in the app and the --listFiles check prove.
const resolutions = {
  node16: { module: "node16", moduleResolution: "node16", outDir: "build", rootDir: "src", skipLibCheck: false },
  bundler: { module: "preserve", moduleResolution: "bundler", noEmit: true, skipLibCheck: true },
  node10: { module: "esnext", moduleResolution: "node10", noEmit: true, skipLibCheck: true }
}

function makeApp(packed) {
  Fs.mkdirSync(Path.join(app, "src/examples"), { recursive: true })
  const dependencies = {}
  for (const p of packed) dependencies[p.name] = `file:${Path.relative(app, p.file)}`
  for (const name of ["effect", "@effect/platform", "@effect/platform-node"]) {
    if (!/^\d+\.\d+\.\d+/.test(pins[name] ?? "")) fail(`the workspace does not pin ${name} exactly`)
    dependencies[name] = pins[name]
  }
  const devDependencies = { typescript: pins.typescript, "@types/node": pins["@types/node"] }
  Fs.writeFileSync(
    Path.join(app, "package.json"),
    JSON.stringify({ name: "stpp-pack-app", private: true, type: "module", dependencies, devDependencies }, null, 2)
  )
  Fs.writeFileSync(Path.join(app, "src/app.ts"), APP)
  const examples = Fs.readdirSync(Path.join(root, "examples")).filter((f) => f.endsWith(".ts") && !f.includes(".test."))
  for (const f of examples) Fs.copyFileSync(Path.join(root, "examples", f), Path.join(app, "src/examples", f))
  return examples
}

// The ```ts blocks of each installed package's README, type-checked with the app (not run).
function addReadmeSnippets(packed) {
  Fs.mkdirSync(Path.join(app, "src/readme"), { recursive: true })
  let count = 0
  for (const p of packed) {
    const readme = Fs.readFileSync(Path.join(app, "node_modules", p.name, "README.md"), "utf8")
    const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1])
    blocks.forEach((code, i) => {
      Fs.writeFileSync(Path.join(app, "src/readme", `${p.name.replace("@stpp/", "")}-${i}.ts`), code)
      count++
    })
  }
  process.stdout.write(`  ${count} README snippets\n`)
}

function writeTsconfigs() {
  for (const [name, options] of Object.entries(resolutions)) {
    const compilerOptions = {
      target: "ES2022",
      lib: ["ES2022"],
      types: ["node"],
      strict: true,
      ...options
    }
    Fs.writeFileSync(
      Path.join(app, `tsconfig.${name}.json`),
      JSON.stringify({ compilerOptions, include: ["src"] }, null, 2)
    )
  }
}

async function install(packed) {
  await must("npm install", "npm", ["install", "--no-audit", "--no-fund"], { cwd: app, timeoutMs: 600_000 })
  const lock = readJson(Path.join(app, "package-lock.json"))
  for (const p of packed) {
    const entry = lock.packages[`node_modules/${p.name}`]
    if (entry === undefined || !String(entry.resolved).startsWith("file:")) {
      fail(`${p.name} was not installed from its tarball: ${JSON.stringify(entry)}`)
    }
  }
  const nested = Object.keys(lock.packages).filter((k) =>
    /.+\/node_modules\/(@stpp\/[^/]+|effect|@effect\/platform|@effect\/platform-node)$/.test(k)
  )
  if (nested.length > 0) fail(`second copies installed (two copies of a Context tag never match): ${nested.join(", ")}`)
  for (const p of packed) {
    for (const bin of Object.keys(p.manifest.bin ?? {})) {
      if (!Fs.existsSync(Path.join(app, "node_modules/.bin", bin))) fail(`npm did not link the bin ${bin}`)
    }
  }
}

async function typecheck(name) {
  const tsc = Path.join(app, "node_modules/typescript/bin/tsc")
  const r = await run("node", [tsc, "-p", `tsconfig.${name}.json`, "--listFiles"], { cwd: app })
  if (r.status !== 0) {
    const errors = r.stdout.split("\n").filter((l) => / error TS\d+/.test(l))
    fail(`tsc under moduleResolution ${name}:\n${errors.join("\n")}`)
  }
  const listed = r.stdout.split("\n").map((l) => l.trim())
  for (const pkg of packageDirs.map((d) => readJson(Path.join(d, "package.json")).name)) {
    const dts = Path.join(app, "node_modules", pkg, "dist/index.d.ts")
    if (!listed.includes(dts)) fail(`${name}: ${pkg}'s types did not come from dist/index.d.ts`)
  }
  const fromSrc = listed.filter((l) => /node_modules\/@stpp\/[^/]+\/src\//.test(l))
  if (fromSrc.length > 0) fail(`${name}: types read from the packages' src: ${fromSrc.join(", ")}`)
  const tsVersion = (await run("node", [tsc, "--version"])).stdout.trim()
  const ours = listed.filter((l) => l.includes("/node_modules/@stpp/")).length
  process.stdout.write(`  ${tsVersion}, ${ours} declaration files of the packages\n`)
}

async function sleep(ms) {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

// The simulator from the installed bin; its output goes to files (nothing waits on a full pipe).
async function startSimulator() {
  const out = Path.join(work, "simulator.out")
  const err = Path.join(work, "simulator.err")
  const child = spawn(Path.join(app, "node_modules/.bin/stpp-simulator"), [], {
    cwd: app,
    env: cleanEnv(),
    stdio: ["ignore", Fs.openSync(out, "w"), Fs.openSync(err, "w")]
  })
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)))
  const keys = [
    "STPP_URL",
    "STPP_NAMESERVERS",
    "STPP_CA_FILE",
    "STPP_TRUST_STORE",
    "STPP_USERNAME",
    "STPP_PASSWORD",
    "STPP_SITE_REFERENCE"
  ]
  for (let i = 0; i < 300; i++) {
    const env = {}
    for (const line of Fs.readFileSync(out, "utf8").split("\n")) {
      const m = /^export (STPP_[A-Z_]+)=(".*")$/.exec(line)
      if (m) env[m[1]] = JSON.parse(m[2])
    }
    if (keys.every((k) => k in env)) return { child, exited, env }
    if (child.exitCode !== null) break
    await sleep(100)
  }
  child.kill("SIGKILL")
  fail(`stpp-simulator did not print its environment:\n${Fs.readFileSync(err, "utf8").slice(-4000)}`)
}

async function stopSimulator(sim) {
  sim.child.kill("SIGTERM")
  const result = await Promise.race([sim.exited, sleep(15_000).then(() => "timeout")])
  if (result === "timeout") {
    sim.child.kill("SIGKILL")
    fail("stpp-simulator did not stop within 15 s of SIGTERM")
  }
}

function assertNoSecrets(what, output, env) {
  for (const secret of [...testPans, env.STPP_PASSWORD]) {
    if (output.includes(secret)) fail(`${what}: its output holds a card number or the password`)
  }
}

async function runAgainstSimulator(examples) {
  const sim = await step("start stpp-simulator from the installed bin", startSimulator)
  try {
    const env = cleanEnv(sim.env)
    await step("run the app (node16 build)", async () => {
      const r = await must("node build/app.js", "node", ["build/app.js"], { cwd: app, env, timeoutMs: 60_000 })
      process.stdout.write(`${r.stdout.trimEnd().replace(/^/gm, "  ")}\n`)
    })
    for (const f of examples) {
      await step(`run examples/${f} against the simulator`, async () => {
        const js = `build/examples/${f.replace(/\.ts$/, ".js")}`
        const r = await must(`node ${js}`, "node", [js], { cwd: app, env, timeoutMs: 120_000 })
        const expected = expectedOutput[f]
        if (expected !== undefined && !expected.test(r.output)) {
          fail(`${f}: exit 0 but no ${expected} in its output:\n${r.output.slice(-4000)}`)
        }
        assertNoSecrets(f, r.output, sim.env)
      })
    }
    await step("stpp --version and stpp request from the installed bin", async () => {
      const stpp = Path.join(app, "node_modules/.bin/stpp")
      const version = await must("stpp --version", stpp, ["--version"], { cwd: app, env })
      if (version.stdout.trim() !== readJson(Path.join(root, "packages/cli/package.json")).version) {
        fail(`stpp --version printed ${JSON.stringify(version.stdout)}`)
      }
      const body = Path.join(work, "auth.json")
      Fs.writeFileSync(
        body,
        JSON.stringify({
          requesttypedescriptions: ["AUTH"],
          baseamount: "1050",
          currencyiso3a: "GBP",
          accounttypedescription: "ECOM",
          orderreference: "pack-1",
          pan: "4111111111111111",
          expirydate: "12/2030",
          securitycode: "123"
        })
      )
      const r = await must("stpp request", stpp, ["request", "--body", body], { cwd: app, env, timeoutMs: 120_000 })
      const line = JSON.parse(r.stdout.trim().split("\n").at(-1))
      if (line.outcome !== "ok") fail(`stpp request: outcome ${line.outcome}`)
      assertNoSecrets("stpp request", r.output, sim.env)
    })
  } finally {
    await step("stop stpp-simulator (SIGTERM)", () => stopSimulator(sim))
  }
}

async function main() {
  const t0 = process.hrtime.bigint()
  process.stdout.write(`pack: working in ${work}\n`)
  Fs.mkdirSync(tarballs, { recursive: true })
  const packed = await step("pnpm pack every package and check the tarballs", packAll)
  const examples = await step("make a fresh npm project", () => {
    const examples = makeApp(packed)
    writeTsconfigs()
    return examples
  })
  await step("npm install --no-audit --no-fund (tarballs + registry)", () => install(packed))
  await step("the installed READMEs' TypeScript snippets", () => addReadmeSnippets(packed))
  for (const name of Object.keys(resolutions)) {
    await step(`tsc strict, moduleResolution ${name}`, () => typecheck(name))
  }
  await runAgainstSimulator(examples)
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  process.stdout.write(`pack: all passed in ${seconds.toFixed(0)} s\n`)
}

main().then(
  () => {
    if (process.env.STPP_PACK_KEEP !== "1") Fs.rmSync(work, { recursive: true, force: true })
  },
  (e) => {
    process.stderr.write(`pack: FAILED: ${e instanceof Error ? e.message : String(e)}\npack: kept ${work}\n`)
    process.exitCode = 1
  }
)
