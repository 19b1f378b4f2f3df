#!/usr/bin/env node
// `stpp --version` alone is answered from a constant module with no imports (P2: no Effect, Schema
// or config is loaded for it); the same text @effect/cli prints. Everything else runs the bundle of
// dist/bin.js (scripts/bundle.mjs, run by `pnpm build` and before packing): one minified graph
// instead of ~600 modules, so the command starts fast.
const args = process.argv.slice(2)
if (args.length === 1 && args[0] === "--version") {
  const { VERSION } = await import("../dist/internal/version.js")
  process.stdout.write(`${VERSION}\n\n`)
} else {
  await import("../dist/bundle/bin.js")
}
