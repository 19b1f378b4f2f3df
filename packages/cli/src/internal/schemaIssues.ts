/**
 * Turns a schema's parse error about a `--body` request into lines a person can act on: the path
 * at fault and what is allowed there (the field names of that object, the expected form), never
 * the value given (it may be card data).
 *
 * @internal
 */
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as AST from "effect/SchemaAST"

/** One problem: where, and what is allowed there. */
export interface Problem {
  readonly path: string
  /** e.g. `is an unknown field; allowed fields here: a, b` or `is invalid; allowed: ...` (no `:` after the path: a scanner would take what follows `pan:` for a value). */
  readonly reason: string
}

/** A field name is quoted only when it looks like one (a key holding a card number is not echoed). */
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/

const shown = (key: PropertyKey): string => {
  const s = String(key)
  return FIELD_NAME.test(s) ? s : "(a key that is not a field name)"
}

const fieldsOf = (ast: AST.AST | undefined): ReadonlyArray<string> => {
  if (ast === undefined) return []
  switch (ast._tag) {
    case "TypeLiteral":
      return ast.propertySignatures.map((p) => String(p.name))
    case "Transformation":
      return fieldsOf(ast.from)
    case "Refinement":
      return fieldsOf(ast.from)
    default:
      return []
  }
}

/** The edit distance of two short names (for "did you mean"). */
const distance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]
}

const suggestion = (name: string, allowed: ReadonlyArray<string>): string => {
  if (!FIELD_NAME.test(name)) return ""
  const best = allowed
    .map((f) => ({ f, d: distance(name.toLowerCase(), f.toLowerCase()) }))
    .sort((x, y) => x.d - y.d)[0]
  return best !== undefined && best.d <= 2 ? `did you mean "${best.f}"? ` : ""
}

/** What the schema at `ast` accepts, from its message annotation or its description; no value. */
const expected = (ast: AST.AST, issue: ParseResult.ParseIssue): string => {
  const annotation = AST.getMessageAnnotation(ast)
  if (Option.isSome(annotation)) {
    const m = annotation.value(issue)
    if (typeof m === "string") return m
    if (typeof m === "object" && "message" in m && typeof m.message === "string") return m.message
  }
  const text = String(ast)
  return text === "string" ? "a JSON string" : text
}

const join = (path: ReadonlyArray<PropertyKey>): string =>
  path.length === 0 ? "(the object)" : path.map(shown).join(".")

/**
 * Every problem in the issue tree; `parent` is the nearest object schema, whose field names an
 * unknown field's message lists.
 */
export const problems = (
  issue: ParseResult.ParseIssue,
  path: ReadonlyArray<PropertyKey> = [],
  parent?: AST.AST
): ReadonlyArray<Problem> => {
  switch (issue._tag) {
    case "Pointer": {
      const more = Array.isArray(issue.path) ? issue.path : [issue.path]
      return problems(issue.issue, [...path, ...more], parent)
    }
    case "Composite": {
      const list = Array.isArray(issue.issues) ? issue.issues : [issue.issues]
      const next = fieldsOf(issue.ast).length > 0 ? issue.ast : parent
      return list.flatMap((i) => problems(i, path, next))
    }
    case "Transformation":
      return problems(issue.issue, path, issue.ast.from._tag === "TypeLiteral" ? issue.ast.from : parent)
    case "Refinement":
      return issue.kind === "From"
        ? problems(issue.issue, path, parent)
        : [{ path: join(path), reason: `is invalid; allowed: ${expected(issue.ast, issue)}` }]
    case "Unexpected": {
      const allowed = fieldsOf(parent)
      const name = String(path[path.length - 1] ?? "")
      return [{
        path: join(path),
        reason: `is an unknown field; ${suggestion(name, allowed)}allowed fields here: ${allowed.join(", ")}`
      }]
    }
    case "Missing":
      return [{ path: join(path), reason: `is missing; allowed: ${String(issue.ast)}` }]
    case "Type":
    case "Forbidden":
      return [{ path: join(path), reason: `is invalid; allowed: ${expected(issue.ast, issue)}` }]
  }
}
