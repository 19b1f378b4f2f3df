/**
 * Classifying what went wrong on a connection once HTTP runs over it. Bytes written decide: zero
 * means nothing was sent (safe to retry on a fresh connection), anything else is "outcome unknown".
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Undici from "undici"
import type { Phase } from "../ConnectionError.js"

/** @internal */
export interface KeepAliveHint {
  /** The server asked to close after this response. */
  readonly close: boolean
  /** `Keep-Alive: timeout=N`, in ms. */
  readonly timeoutMillis: number | undefined
  /** `Keep-Alive: max=N`. */
  readonly max: number | undefined
}

/** @internal */
export const keepAliveHint = (headers: Readonly<Record<string, string>>): KeepAliveHint => {
  const connection = (headers["connection"] ?? "").toLowerCase()
  const keepAlive = (headers["keep-alive"] ?? "").toLowerCase()
  const timeout = /timeout\s*=\s*(\d+)/.exec(keepAlive)
  const max = /max\s*=\s*(\d+)/.exec(keepAlive)
  return {
    close: connection.split(",").some((t) => t.trim() === "close"),
    timeoutMillis: timeout === null ? undefined : Number(timeout[1]) * 1000,
    max: max === null ? undefined : Number(max[1])
  }
}

const codeOf = (u: unknown): string | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  const code = (u as { code?: unknown }).code
  if (typeof code === "string") return code
  const name = (u as { name?: unknown }).name
  return typeof name === "string" ? name : undefined
}

/** Walks `cause` links (HttpClientError -> undici error -> socket error) to name what happened. @internal */
export const failureReason = (error: unknown): string => {
  let current: unknown = error
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    const code = codeOf(current)
    switch (code) {
      case "ECONNRESET":
        return "reset"
      case "EPIPE":
        return "reset"
      case "UND_ERR_SOCKET":
        return "closed"
      case "HPE_INVALID_CONSTANT":
      case "HPE_INVALID_VERSION":
      case "HPE_INVALID_STATUS":
      case "HPE_INVALID_HEADER_TOKEN":
      case "HPE_CR_EXPECTED":
      case "HPE_LF_EXPECTED":
      case "HTTPParserError":
        return "malformed-response"
      case "UND_ERR_RES_CONTENT_LENGTH_MISMATCH":
        return "truncated-response"
      case "UND_ERR_ABORTED":
      case "AbortError":
        return "aborted"
    }
    if (typeof code === "string" && code.startsWith("HPE_")) return "malformed-response"
    current = (current as { cause?: unknown }).cause
  }
  return "closed"
}

/**
 * The phase of a request that failed after `written` bytes: headers received means receiving;
 * all of the request written means awaiting; otherwise sending. `requestBytes` is an estimate of
 * the request's size on the wire (request line, headers, body).
 *
 * @internal
 */
export const phaseOf = (written: number, requestBytes: number, headersReceived: boolean): Phase =>
  headersReceived ? "receiving" : written >= requestBytes ? "awaiting" : "sending"

/** An estimate of the request's size on the wire. @internal */
export const requestSize = (
  method: string,
  path: string,
  host: string,
  headers: Readonly<Record<string, string>>,
  bodyLength: number
): number => {
  let n = `${method} ${path} HTTP/1.1\r\n`.length + `host: ${host}\r\n`.length + 2
  for (const [k, v] of Object.entries(headers)) n += k.length + v.length + 4
  if (bodyLength > 0) n += `content-length: ${bodyLength}\r\n`.length
  return n + bodyLength
}

/** One request ready for the wire. @internal */
export interface Built {
  readonly method: "POST" | "GET"
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array | undefined
  /** An estimate of its size on the wire. */
  readonly size: number
}

/** The whole response. @internal */
export interface Exchanged {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

const flatHeaders = (headers: Record<string, string | Array<string> | undefined>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const k in headers) {
    const v = headers[k]
    if (v !== undefined) out[k] = typeof v === "string" ? v : v.join(", ")
  }
  return out
}

/**
 * One HTTP/1.1 exchange on a connection's undici `Client`: undici writes the request and parses
 * the response (no HTTP is written by hand here). `watch` registers the exchange with the service's
 * IO deadline sweep, which calls the given function when the deadline passes: the request is then
 * aborted and `progress.timedOut` set. Interrupting the effect also aborts it; undici closes the
 * connection either way. `progress.headersReceived` tells a failure while receiving the body from
 * one before any answer.
 *
 * @internal
 */
export const exchange = (
  dispatcher: Undici.Client,
  built: Built,
  progress: { headersReceived: boolean; timedOut: boolean },
  watch: (expire: () => void) => () => void
): Effect.Effect<Exchanged, unknown> =>
  Effect.async<Exchanged, unknown>((resume) => {
    const controller = new AbortController()
    const unwatch = watch(() => {
      progress.timedOut = true
      controller.abort()
    })
    dispatcher.request({
      method: built.method,
      path: built.path,
      headers: built.headers,
      body: built.body ?? null,
      signal: controller.signal
    }).then(
      (response) => {
        progress.headersReceived = true
        return response.body.arrayBuffer().then((buffer) =>
          resume(Effect.succeed({
            status: response.statusCode,
            headers: flatHeaders(response.headers),
            body: new Uint8Array(buffer)
          }))
        )
      }
    ).catch((error: unknown) => resume(Effect.fail(error))).finally(unwatch)
    return Effect.sync(() => {
      unwatch()
      controller.abort()
    })
  })
