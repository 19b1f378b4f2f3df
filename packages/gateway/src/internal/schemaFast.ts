/**
 * Fast paths for the two schemas on every payment's path (P1): encoding a request item and decoding
 * the response envelope. Each is derived once from the schema's AST and covers the shapes those
 * schemas are made of (structs of optional strings, literals, arrays, an unknown rest). Whatever
 * it does not cover, or any value it does not accept, goes to Schema itself, whose answer (and
 * error) is the one returned: the fast path only ever returns what Schema would.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"

type Check = (u: unknown) => boolean

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const hasOwn = Object.prototype.hasOwnProperty

/**
 * A check that `u` is a value of `ast` whose Schema decoding is `u` itself (`Type` and `Encoded`
 * alike, nothing dropped), or `undefined` where `ast` holds something else.
 */
const identityCheck = (ast: AST.AST): Check | undefined => {
  switch (ast._tag) {
    case "StringKeyword":
      return (u) => typeof u === "string"
    case "UnknownKeyword":
    case "AnyKeyword":
      return () => true
    case "Literal": {
      const literal = ast.literal
      return (u) => u === literal
    }
    case "TupleType": {
      if (ast.elements.length > 0 || ast.rest.length !== 1) return undefined
      const element = identityCheck(ast.rest[0].type)
      if (element === undefined) return undefined
      return (u) => Array.isArray(u) && u.every(element)
    }
    case "TypeLiteral":
      return typeLiteralCheck(ast)
    default:
      return undefined
  }
}

const typeLiteralCheck = (ast: AST.TypeLiteral): Check | undefined => {
  const properties: Array<readonly [string, boolean, Check]> = []
  for (const p of ast.propertySignatures) {
    if (typeof p.name !== "string") return undefined
    const check = identityCheck(p.type)
    if (check === undefined) return undefined
    properties.push([p.name, p.isOptional, check])
  }
  // Only a `Record<string, unknown>` rest keeps every other key as it is; without one, Schema
  // drops unknown keys, which this check does not do: those values go to Schema.
  const rest = ast.indexSignatures
  if (rest.length > 1) return undefined
  const open = rest.length === 1 && rest[0].parameter._tag === "StringKeyword" &&
    (rest[0].type._tag === "UnknownKeyword" || rest[0].type._tag === "AnyKeyword")
  if (rest.length === 1 && !open) return undefined
  const names = new Set(properties.map(([name]) => name))
  return (u) => {
    // an own "__proto__" (JSON.parse makes one) is dropped by Schema's copy: Schema decides
    if (!isRecord(u) || hasOwn.call(u, "__proto__")) return false
    for (const [name, isOptional, check] of properties) {
      if (hasOwn.call(u, name)) {
        if (!check(u[name])) return false
      } else if (!isOptional) return false
    }
    if (!open) {
      for (const key in u) if (!names.has(key)) return false
    }
    return true
  }
}

/**
 * `Schema.decodeUnknownEither(schema)` with a fast path for values that decode to themselves.
 *
 * @internal
 */
export const decoder = <A, I>(
  schema: Schema.Schema<A, I>
): (u: unknown) => Either.Either<A, ParseResult.ParseError> => {
  const decode = Schema.decodeUnknownEither(schema)
  const check = AST.encodedAST(schema.ast) === AST.typeAST(schema.ast) ? identityCheck(schema.ast) : undefined
  if (check === undefined) return decode
  return (u) => check(u) ? Either.right(u as A) : decode(u)
}

/**
 * What a field encoder answers for a value it does not take: Schema decides those.
 *
 * @internal
 */
export const NO: unique symbol = Symbol("NO")

/**
 * Encodes one value of a field without Schema, or answers {@link NO}.
 *
 * @internal
 */
export type FieldEncoder = (u: unknown) => unknown

const defaultOptions: AST.ParseOptions = {}

/**
 * A native encoder for the field types a request item is made of (strings, literals, tuples of
 * them, string refinements such as patterns, and the `known` transformations), or `undefined`.
 */
const fieldEncoder = (
  ast: AST.AST,
  known: ReadonlyMap<AST.AST, FieldEncoder>
): FieldEncoder | undefined => {
  const given = known.get(ast)
  if (given !== undefined) return given
  switch (ast._tag) {
    case "StringKeyword":
      return (u) => typeof u === "string" ? u : NO
    case "Literal": {
      const literal = ast.literal
      return (u) => u === literal ? u : NO
    }
    case "Refinement": {
      // a refinement of a string encodes as the string once its own predicate holds
      if (AST.typeAST(ast.from) !== ast.from || AST.encodedAST(ast.from) !== ast.from) return undefined
      const from = fieldEncoder(ast.from, known)
      if (from === undefined) return undefined
      return (u) => {
        const v = from(u)
        return v === NO || Option.isSome(ast.filter(v, defaultOptions, ast)) ? NO : v
      }
    }
    case "TupleType": {
      if (ast.rest.length > 0 || ast.elements.some((e) => e.isOptional)) return undefined
      const elements: Array<FieldEncoder> = []
      for (const e of ast.elements) {
        const encoder = fieldEncoder(e.type, known)
        if (encoder === undefined) return undefined
        elements.push(encoder)
      }
      return (u) => {
        if (!Array.isArray(u) || u.length !== elements.length) return NO
        const out: Array<unknown> = []
        for (let i = 0; i < elements.length; i++) {
          const v = elements[i](u[i])
          if (v === NO) return NO
          out.push(v)
        }
        return out
      }
    }
    default:
      return undefined
  }
}

// Whether a value of `ast` can hold a struct with named keys (where an excess key is an error).
const mayHoldStruct = (ast: AST.AST): boolean => {
  switch (ast._tag) {
    case "TypeLiteral":
      return ast.propertySignatures.length > 0 || ast.indexSignatures.some((s) => mayHoldStruct(s.type))
    case "Transformation":
      return mayHoldStruct(ast.from) || mayHoldStruct(ast.to)
    case "Refinement":
      return mayHoldStruct(ast.from)
    case "Union":
      return ast.types.some(mayHoldStruct)
    case "TupleType":
      return ast.elements.some((e) => mayHoldStruct(e.type)) || ast.rest.some((r) => mayHoldStruct(r.type))
    case "Declaration":
      return ast.typeParameters.some(mayHoldStruct)
    case "Suspend":
      return true
    default:
      return false
  }
}

/**
 * `Schema.encodeUnknownEither(struct, { onExcessProperty: "error" })` with a fast path: the fields
 * {@link fieldEncoder} covers (and the `known` transformations, e.g. card fields) are encoded
 * here, only the others by Schema, with a struct of just them. Any value the fast path does not
 * take goes to the whole struct's Schema encoder, so its errors are Schema's own.
 *
 * @internal
 */
export const structEncoder = (
  schema: Schema.Schema.AnyNoContext,
  known: ReadonlyMap<AST.AST, FieldEncoder> = new Map()
): (u: unknown) => Either.Either<unknown, ParseResult.ParseError> => {
  const encode = Schema.encodeUnknownEither(schema, { onExcessProperty: "error" })
  const fields = (schema as unknown as { readonly fields?: Schema.Struct.Fields }).fields
  const ast = schema.ast
  if (fields === undefined || ast._tag !== "TypeLiteral" || ast.indexSignatures.length > 0) return encode
  const order: Array<readonly [string, boolean, FieldEncoder | undefined]> = []
  const others: Record<string, Schema.Struct.Field> = {}
  for (const p of ast.propertySignatures) {
    if (typeof p.name !== "string" || !(p.name in fields)) return encode
    const native = fieldEncoder(p.type, known)
    order.push([p.name, p.isOptional, native])
    if (native === undefined) others[p.name] = fields[p.name]
  }
  const rest = Schema.Struct(others) as unknown as Schema.Schema.AnyNoContext
  // Excess keys at the top are checked here; Schema's own check costs more than all the rest, so it
  // is only asked for where a nested struct could hold one.
  const encodeOthers = Schema.encodeUnknownEither(rest, {
    onExcessProperty: Object.values(others).some((f) => mayHoldStruct((f as Schema.Schema.Any).ast))
      ? "error"
      : "ignore"
  })
  const known_ = new Set(order.map(([name]) => name))
  const hasOthers = Object.keys(others).length > 0
  return (u) => {
    if (!isRecord(u)) return encode(u)
    for (const key in u) if (!known_.has(key)) return encode(u)
    const out: Record<string, unknown> = {}
    let left: Record<string, unknown> | undefined
    for (const [name, isOptional, native] of order) {
      if (!hasOwn.call(u, name)) {
        if (!isOptional) return encode(u)
        continue
      }
      if (native === undefined) {
        left ??= {}
        left[name] = u[name]
        continue
      }
      const v = native(u[name])
      if (v === NO) return encode(u)
      out[name] = v
    }
    if (!hasOthers || left === undefined) return Either.right(out)
    const encoded = encodeOthers(left)
    if (Either.isLeft(encoded)) return encode(u)
    const done = encoded.right as Record<string, unknown>
    // the keys in the order Schema writes them: the struct's own
    const ordered: Record<string, unknown> = {}
    for (const [name] of order) {
      if (hasOwn.call(out, name)) ordered[name] = out[name]
      else if (hasOwn.call(done, name)) ordered[name] = done[name]
    }
    return Either.right(ordered)
  }
}
