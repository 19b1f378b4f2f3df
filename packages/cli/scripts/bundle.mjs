// Builds the `stpp` command's bundle (P2): esbuild bundles dist/bin.js (so `tsc --build` first; the
// root `pnpm build` runs both, `prepack` runs this again) with every dependency into one minified
// CommonJS file, dist/bundle/stpp.cjs. `request`, `doctor` and `demo` are still evaluated only when
// run (esbuild wraps what is imported dynamically in a lazy initialiser). One classic script, not ES
// modules, so that bin/stpp.js can compile it with a V8 code cache (node 20 has no compile cache for
// ES modules). Fails when fast-check or test-only code would end up in the bundle.
import * as esbuild from "esbuild"
import * as Fs from "node:fs"
import * as Path from "node:path"

const pkg = Path.resolve(import.meta.dirname, "..")
const entry = Path.join(pkg, "dist/bin.js")
const outdir = Path.join(pkg, "dist/bundle")

if (!Fs.existsSync(entry)) {
  process.stderr.write(`bundle: ${entry} is missing: run \`tsc --build\` first (\`pnpm build\` does both)\n`)
  process.exit(1)
}
Fs.rmSync(outdir, { recursive: true, force: true })

// @stpp/connect uses one thing of undici's, `Client` (its pool hands each verified socket to one).
// undici's index loads all of undici (fetch, WebSocket, caches, ...; 0.5 MB minified, most of a
// request's start-up), and esbuild cannot drop unused parts of CommonJS: give connect undici's
// Client module alone. Should connect use more of undici, esbuild warns that the import is
// undefined, and the build fails below.
const undiciClientOnly = {
  name: "undici-client-only",
  setup(build) {
    build.onResolve({ filter: /^undici$/ }, (args) =>
      /[\\/]connect[\\/]dist[\\/]/.test(args.importer)
        ? { path: "undici", namespace: "undici-client-only", pluginData: { resolveDir: args.resolveDir } }
        : undefined)
    // The connection offers http/1.1 alone (ALPN), so undici's HTTP/2 client, which loads node's
    // http2 at start, is never used: a stub that says so, should it ever be called.
    build.onResolve(
      { filter: /^\.\/client-h2\.js$/ },
      (args) =>
        /[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client\.js$/.test(args.importer)
          ? { path: "client-h2", namespace: "undici-no-h2" }
          : undefined
    )
    build.onLoad({ filter: /.*/, namespace: "undici-no-h2" }, () => ({
      contents: "module.exports = function connectH2() {\n" +
        "  throw new Error(\"HTTP/2 is not in the stpp bundle: its connections offer http/1.1 only\")\n}\n",
      loader: "js"
    }))
    build.onLoad({ filter: /.*/, namespace: "undici-client-only" }, (args) => ({
      contents: "import Client from \"undici/lib/dispatcher/client.js\"\nexport { Client }\n",
      resolveDir: args.pluginData.resolveDir,
      loader: "js"
    }))
  }
}

const result = await esbuild.build({
  entryPoints: { stpp: entry },
  outdir,
  outExtension: { ".js": ".cjs" },
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20.11",
  minify: true,
  metafile: true,
  logLevel: "warning",
  plugins: [undiciClientOnly]
})

if (result.warnings.length > 0) {
  process.stderr.write(`bundle: ${result.warnings.length} warning(s) above: fix them, the bundle may be broken\n`)
  process.exit(1)
}

// What must never be in the runtime graph: property-test generators and test code.
const forbidden = [/node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?fast-check\//, /(^|\/)vitest\b/, /\/test\//]
const kept = new Map()
let bytes = 0
for (const output of Object.values(result.metafile.outputs)) {
  bytes += output.bytes
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    if (bytesInOutput > 0 && forbidden.some((re) => re.test(input))) {
      kept.set(input, (kept.get(input) ?? 0) + bytesInOutput)
    }
  }
}
if (kept.size > 0) {
  process.stderr.write(
    `bundle: test-only code in the bundle (${kept.size} files), e.g.\n` +
      [...kept].slice(0, 10).map(([f, n]) => `  ${f}: ${n} bytes\n`).join("")
  )
  process.exit(1)
}
// STPP_BUNDLE_META=file writes esbuild's metafile there (what each output holds: esbuild.github.io/analyze).
if (process.env.STPP_BUNDLE_META) Fs.writeFileSync(process.env.STPP_BUNDLE_META, JSON.stringify(result.metafile))
const files = Object.keys(result.metafile.outputs).length
const inputs = Object.keys(result.metafile.inputs).length
process.stdout.write(
  `bundle: ${Path.relative(process.cwd(), outdir)}: ${files} files, ${(bytes / 1024).toFixed(0)} KiB ` +
    `from ${inputs} modules (no fast-check, no test code)\n`
)
