/**
 * The `--body` file of `stpp request`: read, parsed and checked before anything is sent. Messages
 * name the file and the fields at fault, never a value from it (it may hold card data).
 *
 * @internal
 */
import * as ConnectionConfig from "@stpp/connect/ConnectionConfig"
import * as Requests from "@stpp/gateway/Requests"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as SchemaIssues from "./schemaIssues.js"

type Json = Record<string, unknown>

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const MODELLED: ReadonlySet<string> = new Set([
  "AUTH",
  "ACCOUNTCHECK",
  "REFUND",
  "TRANSACTIONQUERY",
  "TRANSACTIONUPDATE"
])

/**
 * Checks one modelled item against its type's schema: an unknown field is refused (as
 * `GatewayClient` refuses it), naming it and the fields allowed; a bad value says what is allowed.
 * `requestreference` is set by the command, so it is not checked.
 */
const checkFields = (item: Json): ReadonlyArray<SchemaIssues.Problem> => {
  const types = item.requesttypedescriptions as ReadonlyArray<string>
  const schema = Requests.schemaFor(types)
  if (schema === undefined) return []
  const { requestreference: _, ...checked } = item
  const decoded = Schema.decodeUnknownEither(schema, { onExcessProperty: "error", errors: "all" })(checked)
  return Either.isLeft(decoded) ? SchemaIssues.problems(decoded.left.issue) : []
}

/**
 * The wire form of an item: the entries of `extraFields` (the named way to send a field the model
 * lacks) written beside the others; a typed field name there is refused.
 */
const flatten = (item: Json, where: string): Either.Either<Json, string> => {
  if (!isObject(item.extraFields)) return Either.right(item)
  const { extraFields, ...fields } = item as Json & { readonly extraFields: Json }
  for (const key of Object.keys(extraFields)) {
    if (Requests.KNOWN_FIELDS.has(key) || key in fields) {
      return Either.left(
        `--body: ${where}: "extraFields.${key}" is a typed field; allowed: set it directly, not through extraFields`
      )
    }
  }
  return Either.right({ ...fields, ...extraFields })
}

/**
 * Checks each request item: an object with `requesttypedescriptions` (a non-empty list of names);
 * the request types this project models are also checked against their schemas (an unknown field
 * is refused, naming the fields allowed), so a mistake is an exit 2 here, not a gateway error.
 * `extraFields` entries are written beside the other fields. Adds `sitereference` from `STPP_SITE_REFERENCE` when an item
 * has none (in the filter for TRANSACTIONQUERY and TRANSACTIONUPDATE).
 */
export const check = (
  file: string,
  json: unknown,
  sitereference: string | undefined
): Either.Either<ReadonlyArray<Json>, string> => {
  const items: ReadonlyArray<unknown> = Array.isArray(json) ? json : [json]
  if (items.length === 0) {
    return Either.left(`--body: "${file}" holds an empty array; allowed: a request object or a non-empty array of them`)
  }
  const out: Array<Json> = []
  for (let i = 0; i < items.length; i++) {
    const where = items.length > 1 ? `request ${i + 1} in "${file}"` : `the request in "${file}"`
    const item = items[i]
    if (!isObject(item)) return Either.left(`--body: ${where} is not a JSON object`)
    const types = item.requesttypedescriptions
    if (
      !Array.isArray(types) || types.length === 0 ||
      !types.every((t) => typeof t === "string" && /^[A-Z0-9_]+$/.test(t))
    ) {
      return Either.left(
        `--body: ${where} has no valid "requesttypedescriptions"; allowed: a list of request types, e.g. ["AUTH"]`
      )
    }
    let full: Json = item
    if (sitereference !== undefined) {
      if (isObject(item.filter)) {
        if (item.filter.sitereference === undefined) {
          full = { ...item, filter: { ...item.filter, sitereference: [{ value: sitereference }] } }
        }
      } else if (item.sitereference === undefined) {
        full = { ...item, sitereference }
      }
    }
    if (types.length === 1 && MODELLED.has(types[0] as string)) {
      const found = checkFields(full)
      if (found.length > 0) {
        const hint = full.sitereference === undefined && item.filter === undefined
          ? " (set STPP_SITE_REFERENCE or give sitereference)"
          : ""
        const unknownTop = found.some((p) => p.reason.startsWith("is an unknown field") && !p.path.includes("."))
        return Either.left(
          `--body: ${where} (${types[0]}) is invalid at ${found.map((p) => p.path).join(", ")}${hint}; ${
            found.map((p) => `${p.path} ${p.reason}`).join("; ")
          }${unknownTop ? `; a field this project does not model goes in "extraFields": {"name": "value"}` : ""}`
        )
      }
    }
    const flat = flatten(full, where)
    if (Either.isLeft(flat)) return Either.left(flat.left)
    full = flat.right
    out.push(full)
  }
  return Either.right(out)
}

/** The largest `--body` file read: a request is a few KiB; anything near this is not one. */
export const MAX_BODY_BYTES = 1024 * 1024

/**
 * Reads and checks the file (a regular file of at most `MAX_BODY_BYTES`: a device, FIFO or huge
 * file fails at once); the message of a failure is one line naming `--body`.
 */
export const read = (
  file: string,
  sitereference: string | undefined
): Effect.Effect<ReadonlyArray<Json>, string> =>
  Effect.gen(function*() {
    const text = yield* ConnectionConfig.readFileBounded(file, MAX_BODY_BYTES).pipe(
      Effect.mapError((e) =>
        `--body: cannot read "${file}": ${e.message}; allowed: a regular file of at most ${MAX_BODY_BYTES} bytes holding the request as JSON`
      )
    )
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (e) {
      // The parser's message may quote the text, which may hold a card number: only the position.
      const position = /position (\d+)/.exec(String(e))
      return yield* Effect.fail(
        `--body: "${file}" is not valid JSON${
          position === null ? "" : ` (at character ${position[1]})`
        }; allowed: a request object or an array of them`
      )
    }
    return yield* check(file, json, sitereference)
  })
