/**
 * The codebase's shape, checked with the TypeScript compiler API: no packages/*\/src file over 700
 * lines, no function over 150 lines, no cycle of relative imports, and every requirement tag cited
 * in the sources and tests is an id listed in docs/requirements.md.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import ts from "typescript"
import { describe, expect, it } from "vitest"

const ROOT = Path.resolve(__dirname, "../..")
const MAX_FILE_LINES = 700
const MAX_FUNCTION_LINES = 150

const walk = (dir: string): Array<string> =>
  Fs.existsSync(dir)
    ? Fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const full = Path.join(dir, e.name)
      if (e.isDirectory()) return e.name === "node_modules" || e.name === "dist" || e.name === "build" ? [] : walk(full)
      return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [full] : []
    })
    : []

const packages = Fs.readdirSync(Path.join(ROOT, "packages"))
const sources = packages.flatMap((p) => walk(Path.join(ROOT, "packages", p, "src")))
const tests = [
  ...packages.flatMap((p) => walk(Path.join(ROOT, "packages", p, "test"))),
  ...walk(Path.join(ROOT, "test"))
]
const rel = (file: string) => Path.relative(ROOT, file)

const parse = (file: string) =>
  ts.createSourceFile(file, Fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)

const lineOf = (sf: ts.SourceFile, pos: number) => sf.getLineAndCharacterOfPosition(pos).line + 1

const functionName = (node: ts.Node): string => {
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name !== undefined) {
    return node.name.getText()
  }
  const parent = node.parent
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) return parent.name.getText()
  return "(anonymous)"
}

/** Relative imports and re-exports that exist at runtime (`import type` is erased, so it cannot cycle). */
const runtimeImports = (sf: ts.SourceFile): Array<string> => {
  const out: Array<string> = []
  for (const statement of sf.statements) {
    let specifier: ts.Expression | undefined
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause
      if (clause?.isTypeOnly === true) continue
      const bindings = clause?.namedBindings
      if (
        clause !== undefined && clause.name === undefined && bindings !== undefined && ts.isNamedImports(bindings) &&
        bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly)
      ) continue
      specifier = statement.moduleSpecifier
    } else if (ts.isExportDeclaration(statement) && !statement.isTypeOnly) {
      specifier = statement.moduleSpecifier
    }
    if (specifier !== undefined && ts.isStringLiteral(specifier) && specifier.text.startsWith(".")) {
      const target = Path.resolve(Path.dirname(sf.fileName), specifier.text.replace(/\.js$/, ".ts"))
      out.push(Fs.existsSync(target) ? target : Path.join(target.replace(/\.ts$/, ""), "index.ts"))
    }
  }
  return out
}

describe("structure", () => {
  it("finds the sources", () => {
    expect(sources.length).toBeGreaterThan(20)
    expect(sources.some((f) => f.endsWith(Path.join("gateway", "src", "GatewayClient.ts")))).toBe(true)
  })

  it(`no packages/*/src file is longer than ${MAX_FILE_LINES} lines`, () => {
    const long = sources
      .map((f) => ({ file: rel(f), lines: Fs.readFileSync(f, "utf8").split("\n").length }))
      .filter((f) => f.lines > MAX_FILE_LINES)
      .map((f) => `${f.file}: ${f.lines} lines`)
    expect(long).toEqual([])
  })

  it(`no function in packages/*/src is longer than ${MAX_FUNCTION_LINES} lines`, () => {
    const long: Array<string> = []
    for (const file of sources) {
      const sf = parse(file)
      const visit = (node: ts.Node): void => {
        if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
          const start = lineOf(sf, node.getStart(sf))
          const lines = lineOf(sf, node.getEnd()) - start + 1
          if (lines > MAX_FUNCTION_LINES) long.push(`${rel(file)}:${start} ${functionName(node)}: ${lines} lines`)
        }
        ts.forEachChild(node, visit)
      }
      visit(sf)
    }
    expect(long).toEqual([])
  })

  it("the relative imports in packages/*/src form no cycle", () => {
    const graph = new Map(sources.map((f) => [f, runtimeImports(parse(f))]))
    const cycles: Array<string> = []
    const state = new Map<string, "open" | "done">()
    const stack: Array<string> = []
    const visit = (file: string): void => {
      state.set(file, "open")
      stack.push(file)
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === "open") {
          cycles.push([...stack.slice(stack.indexOf(next)), next].map(rel).join(" -> "))
        } else if (state.get(next) === undefined && graph.has(next)) {
          visit(next)
        }
      }
      stack.pop()
      state.set(file, "done")
    }
    for (const file of graph.keys()) if (state.get(file) === undefined) visit(file)
    expect(cycles).toEqual([])
  })

  it("every requirement tag cited in the sources and tests is listed in docs/requirements.md", () => {
    const listed = new Set(
      Array.from(Fs.readFileSync(Path.join(ROOT, "docs", "requirements.md"), "utf8").matchAll(/\*\*([A-Z]\d+)\*\*/g))
        .map((m) => m[1])
    )
    expect(listed.size).toBeGreaterThan(10)
    const unknown: Array<string> = []
    let cited = 0
    for (const file of [...sources, ...tests]) {
      const text = Fs.readFileSync(file, "utf8")
      for (const m of text.matchAll(/\(([A-Z]\d+(?:\s*,\s*[A-Z]\d+)*)\)/g)) {
        for (const id of m[1].split(/\s*,\s*/)) {
          cited++
          if (!listed.has(id)) unknown.push(`${rel(file)}:${text.slice(0, m.index).split("\n").length} (${id})`)
        }
      }
    }
    expect(cited).toBeGreaterThan(0)
    expect(unknown).toEqual([])
  })
})
