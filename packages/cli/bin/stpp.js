#!/usr/bin/env node
// `stpp --version` alone is answered from a constant module with no imports (P2: no Effect, Schema
// or config is loaded for it); the same text @effect/cli prints. Everything else runs the bundle of
// dist/bin.js (scripts/bundle.mjs, run by `pnpm build` and before packing): one minified script
// instead of ~600 modules, compiled with a V8 code cache when one can be kept (below). This file is
// CommonJS (bin/package.json), so that node does not start its ES module loader for it.
"use strict"
/* eslint-disable @typescript-eslint/no-require-imports -- this file is CommonJS (bin/package.json) */
const Crypto = require("node:crypto")
const Fs = require("node:fs")
const { createRequire } = require("node:module")
const Os = require("node:os")
const Path = require("node:path")
const { pathToFileURL } = require("node:url")
const Vm = require("node:vm")

const args = process.argv.slice(2)
if (args.length === 1 && args[0] === "--version") {
  import(pathToFileURL(Path.join(__dirname, "../dist/internal/version.js")).href).then(({ VERSION }) => {
    process.stdout.write(`${VERSION}\n\n`)
  })
} else {
  run()
}

// The code cache (P2): V8's compiled code of the bundle, as it stood at the end of the first run of
// each command (`request`, `doctor`, `demo`, anything else), in STPP_CODE_CACHE_DIR (default
// $XDG_CACHE_HOME/stpp or ~/.cache/stpp; empty: no cache). A later run of that command skips most
// parsing and compiling. The file's name holds a hash of the bundle, node's version and the
// platform, so a rebuilt bundle or another node never reads it; V8 checks it again and rejects what
// does not fit (then the bundle compiles as without a cache, and the file is written anew). A file
// not owned by this user is not read. Every failure to read or write it is ignored.
function run() {
  const file = Path.join(__dirname, "../dist/bundle/stpp.cjs")
  const bytes = Fs.readFileSync(file)
  const cache = cachePath(bytes)
  const cachedData = cache === undefined ? undefined : readCache(cache)
  const script = new Vm.Script(
    `(function (exports, require, module, __filename, __dirname) {${bytes.toString("utf8")}\n})`,
    { filename: file, cachedData }
  )
  if (cache !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    process.once("exit", () => writeCache(cache, script))
  }
  const module = { exports: {} }
  script.runInThisContext()(module.exports, createRequire(file), module, file, Path.dirname(file))
}

function cachePath(bytes) {
  const env = process.env.STPP_CODE_CACHE_DIR
  const home = Os.homedir()
  const dir = env !== undefined
    ? env
    : process.env.XDG_CACHE_HOME
    ? Path.join(process.env.XDG_CACHE_HOME, "stpp")
    : home
    ? Path.join(home, ".cache", "stpp")
    : ""
  if (dir === "") return undefined
  const hash = Crypto.createHash("sha1")
    .update(`${process.version} ${process.arch} ${process.platform} ${process.versions.v8}\n`)
    .update(bytes)
    .digest("hex")
    .slice(0, 20)
  const command = ["request", "doctor", "demo"].includes(args[0]) ? args[0] : "other"
  return { command, file: Path.join(Path.resolve(dir), `stpp-${command}-${hash}.v8cache`) }
}

function readCache(cache) {
  let fd
  try {
    fd = Fs.openSync(cache.file, "r")
    const stat = Fs.fstatSync(fd)
    if (!stat.isFile() || (process.getuid !== undefined && stat.uid !== process.getuid())) return undefined
    return Fs.readFileSync(fd)
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) Fs.closeSync(fd)
  }
}

function writeCache(cache, script) {
  try {
    const data = script.createCachedData()
    Fs.mkdirSync(Path.dirname(cache.file), { recursive: true, mode: 0o700 })
    const tmp = `${cache.file}.${process.pid}.tmp`
    Fs.writeFileSync(tmp, data, { mode: 0o600 })
    Fs.renameSync(tmp, cache.file)
    // Other bundles' or node versions' caches of this command: the 3 newest are kept (installs
    // side by side), older ones removed.
    const dir = Path.dirname(cache.file)
    const prefix = `stpp-${cache.command}-`
    const others = Fs.readdirSync(dir)
      .filter((name) => name.startsWith(prefix) && name.endsWith(".v8cache") && name !== Path.basename(cache.file))
      .map((name) => ({ name, mtime: Fs.statSync(Path.join(dir, name)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime)
    for (const { name } of others.slice(3)) Fs.rmSync(Path.join(dir, name), { force: true })
  } catch {
    // no cache this time
  }
}
