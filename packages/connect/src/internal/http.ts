/**
 * Classifying what went wrong on a connection once HTTP runs over it. Bytes written decide: zero
 * means nothing was sent (safe to retry on a fresh connection), anything else is "outcome unknown".
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Undici from "undici"
import type { Phase } from "../ConnectionError.js"
import { Slots, type Slotted } from "./slots.js"

/** @internal */
export interface KeepAliveHint {
  /** The server asked to close after this response. */
  readonly close: boolean
  /** `Keep-Alive: timeout=N`, in ms. */
  readonly timeoutMillis: number | undefined
  /** `Keep-Alive: max=N`. */
  readonly max: number | undefined
}

const parseHint = (connection: string, keepAlive: string): KeepAliveHint => {
  const lowerKeepAlive = keepAlive.toLowerCase()
  const timeout = /timeout\s*=\s*(\d+)/.exec(lowerKeepAlive)
  const max = /max\s*=\s*(\d+)/.exec(lowerKeepAlive)
  return {
    close: connection.toLowerCase().split(",").some((t) => t.trim() === "close"),
    timeoutMillis: timeout === null ? undefined : Number(timeout[1]) * 1000,
    max: max === null ? undefined : Number(max[1])
  }
}

// A server sends the same two header values on every answer: the last ones parsed are kept, so
// a warm request costs a string comparison here, not two regular expressions.
let lastConnection = ""
let lastKeepAlive = ""
let lastHint = parseHint(lastConnection, lastKeepAlive)

/** @internal */
export const keepAliveHint = (headers: Readonly<Record<string, string>>): KeepAliveHint => {
  const connection = headers["connection"] ?? ""
  const keepAlive = headers["keep-alive"] ?? ""
  if (connection !== lastConnection || keepAlive !== lastKeepAlive) {
    lastHint = parseHint(connection, keepAlive)
    lastConnection = connection
    lastKeepAlive = keepAlive
  }
  return lastHint
}

const codeOf = (u: unknown): string | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  const code = (u as { code?: unknown }).code
  if (typeof code === "string") return code
  const name = (u as { name?: unknown }).name
  return typeof name === "string" ? name : undefined
}

/**
 * The largest response head (status line and headers) read: undici stops at it (HPE_HEADER_OVERFLOW)
 * instead of buffering a gateway's 10,000 headers. A gateway answer's head is well under 1 KiB.
 *
 * @internal
 */
export const MAX_RESPONSE_HEADER_BYTES = 16 * 1024

/** Walks `cause` links (undici's error -> the socket's error) to name what happened. @internal */
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
      case "UND_ERR_RES_EXCEEDED_MAX_SIZE":
        return "response-too-large"
      case "UND_ERR_HEADERS_OVERFLOW":
      case "HPE_HEADER_OVERFLOW":
        return "response-headers-too-large"
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

/**
 * An estimate of the request's size on the wire (request line, host, headers, content-length,
 * body): only needed to name the phase of a failed request, so only computed then.
 *
 * @internal
 */
export const requestSize = (built: Built, host: string): number => {
  const bodyLength = built.body === undefined ? 0 : built.body.byteLength
  let n = `${built.method} ${built.path} HTTP/1.1\r\n`.length + `host: ${host}\r\n`.length + 2
  for (const k in built.headers) n += k.length + built.headers[k].length + 4
  if (bodyLength > 0) n += `content-length: ${bodyLength}\r\n`.length
  return n + bodyLength
}

/** One request ready for the wire. @internal */
export interface Built {
  readonly method: "POST" | "GET"
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array | undefined
}

/** The whole response. @internal */
export interface Exchanged {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

/** What one exchange came to: the whole response, or how it failed. @internal */
export type Outcome =
  | { readonly _tag: "Response"; readonly response: Exchanged }
  | {
    readonly _tag: "Failed"
    readonly error: unknown
    /** The response's status line and headers had arrived. */
    readonly headersReceived: boolean
    /** The IO deadline sweep aborted it. */
    readonly timedOut: boolean
  }

// undici hands headers over as an object whose repeated ones are arrays: copied only when there is one.
const flatHeaders = (headers: Record<string, string | Array<string> | undefined>): Record<string, string> => {
  for (const k in headers) {
    if (typeof headers[k] !== "string") return copyFlat(headers)
  }
  return headers as Record<string, string>
}

const copyFlat = (headers: Record<string, string | Array<string> | undefined>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const k in headers) {
    const v = headers[k]
    if (v !== undefined) out[k] = typeof v === "string" ? v : v.join(", ")
  }
  return out
}

/** The request was aborted by the IO deadline sweep. @internal */
export class IoDeadline extends Error {
  readonly code = "STPP_IO_TIMEOUT"
  constructor() {
    super("no answer within the IO time-out")
  }
}

/** The request was interrupted by its caller. @internal */
export class Interrupted extends Error {
  readonly code = "STPP_INTERRUPTED"
  constructor() {
    super("interrupted")
  }
}

const concat = (chunks: Array<Buffer>, size: number): Uint8Array =>
  chunks.length === 1 ? chunks[0] : chunks.length === 0 ? new Uint8Array(0) : Buffer.concat(chunks, size)

/** What `Deadlines` expires: an exchange past its IO deadline, a caller waiting for a socket past its own (U2). @internal */
export interface Expiring extends Slotted {
  readonly deadline: number
  readonly expire: () => void
}

/**
 * Exchanges in flight with their IO deadlines, and callers waiting for a socket with theirs, swept
 * by the pool's housekeeper on Clock (`Slots`, not a `Set`: see there why). Each one added is told
 * to `notify`, which wakes the housekeeper when this deadline comes before the one it sleeps until.
 *
 * @internal
 */
export class Deadlines extends Slots<Expiring> {
  constructor(private readonly notify: (deadline: number) => void = () => undefined) {
    super()
  }

  override add(exchange: Expiring): void {
    super.add(exchange)
    this.notify(exchange.deadline)
  }

  /** Expires the exchanges whose deadline is `now` or earlier; returns the next deadline (`Infinity`: none). */
  expireUntil(now: number): number {
    let next = Number.POSITIVE_INFINITY
    for (const exchange of this.toArray()) {
      if (now >= exchange.deadline) {
        this.delete(exchange)
        exchange.expire()
      } else if (exchange.deadline < next) next = exchange.deadline
    }
    return next
  }
}

/** A socket to close once its last answer is complete. @internal */
export interface Closing {
  readonly destroy: (error: Error) => void
}

/** The last request's answer is complete: its socket closed (one error, its stack formatted once). @internal */
export const closedAfterAnswer: Error = Object.assign(new Error("closed after its last answer"), {
  code: "STPP_CLOSED_AFTER_ANSWER"
})
void closedAfterAnswer.stack

/** Who hears how an exchange ended. @internal */
export interface Listener {
  readonly settled: (outcome: Outcome) => void
}

/**
 * One HTTP/1.1 exchange on a connection's undici `Client`, through undici's dispatch handler API:
 * undici writes the request and parses the response (no HTTP is written by hand here); the body is
 * collected whole. The listener hears the outcome once: it tells a failure after the response's
 * headers arrived from one before, and one the IO deadline caused.
 *
 * While in flight the exchange sits in `deadlines`; the service's sweep calls `expire` once the
 * deadline has passed, which aborts it. `abort` (an interrupted caller) aborts it too, and then the
 * listener hears nothing. Either way undici closes the connection, which the pool then retires.
 *
 * A class rather than closures: this runs for every request, and methods cost nothing per request.
 *
 * @internal
 */
export class Exchange implements Undici.Dispatcher.DispatchHandler, Slotted {
  /** Where it sits in `Deadlines` while in flight (-1 when not there). */
  slot = -1
  private finished = false
  private headersReceived = false
  private timedOut = false
  private controller: Undici.Dispatcher.DispatchController | undefined = undefined
  private status = 0
  private headers: Record<string, string> = {}
  private readonly chunks: Array<Buffer> = []
  private size = 0
  private closing: Closing | undefined = undefined

  constructor(
    private readonly dispatcher: Undici.Dispatcher,
    private readonly deadlines: Deadlines,
    readonly deadline: number,
    private readonly listener: Listener
  ) {}

  /**
   * Sends the request; `closing`: the connection's socket when this is its last request
   * (`connection: close`, undici's `reset`), so that the server closes it after its answer rather
   * than wait for our close (node's `https` without keep-alive does the same: it costs the server,
   * and us, less than a close it must detect). The socket is destroyed when the answer is complete,
   * with `closedAfterAnswer`, just before undici would destroy it with an error of its own made
   * (and its stack formatted) anew each time.
   */
  start(built: Built, closing?: Closing): this {
    this.closing = closing
    this.deadlines.add(this)
    this.dispatcher.dispatch({
      method: built.method,
      path: built.path,
      headers: built.headers,
      body: built.body === undefined ? null : built.body,
      reset: closing !== undefined
    }, this)
    return this
  }

  /** The IO deadline passed (called by the sweep). */
  expire(): void {
    if (this.finished) return
    this.timedOut = true
    this.cut(new IoDeadline())
  }

  /** The caller went away: abort, and tell nobody. */
  abort(): void {
    if (this.finished) return
    this.finished = true
    this.deadlines.delete(this)
    this.cut(new Interrupted())
  }

  private cut(reason: Error): void {
    if (this.controller !== undefined) this.controller.abort(reason)
    // not started yet (still waiting for its connection): closing the client fails it
    else this.dispatcher.destroy(reason).catch(() => undefined)
  }

  private finish(outcome: Outcome): void {
    if (this.finished) return
    this.finished = true
    this.deadlines.delete(this)
    this.listener.settled(outcome)
  }

  onRequestStart(controller: Undici.Dispatcher.DispatchController): void {
    this.controller = controller
  }

  onResponseStart(
    _controller: Undici.Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | Array<string> | undefined>
  ): void {
    // 1xx answers are interim: the real one follows
    if (statusCode < 200) return
    this.headersReceived = true
    this.status = statusCode
    this.headers = flatHeaders(headers)
  }

  onResponseData(_controller: Undici.Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk)
    this.size += chunk.length
  }

  onResponseEnd(): void {
    if (this.headersReceived && this.closing !== undefined) this.closing.destroy(closedAfterAnswer)
    this.finish(
      this.headersReceived
        ? {
          _tag: "Response",
          response: { status: this.status, headers: this.headers, body: concat(this.chunks, this.size) }
        }
        : {
          _tag: "Failed",
          error: new Error("the response ended without a final status"),
          headersReceived: false,
          timedOut: this.timedOut
        }
    )
  }

  onResponseError(_controller: Undici.Dispatcher.DispatchController, error: Error): void {
    this.finish({ _tag: "Failed", error, headersReceived: this.headersReceived, timedOut: this.timedOut })
  }
}

/**
 * An `Exchange` as an effect that never fails: interrupting it aborts the exchange.
 *
 * @internal
 */
export const exchange = (
  dispatcher: Undici.Dispatcher,
  built: Built,
  deadlines: Deadlines,
  deadline: number,
  /** The connection's socket when this is its last request (`Exchange.start`). */
  closing?: Closing
): Effect.Effect<Outcome> =>
  Effect.async<Outcome>((resume) => {
    const running = new Exchange(dispatcher, deadlines, deadline, {
      settled: (outcome) => resume(Effect.succeed(outcome))
    }).start(built, closing)
    return Effect.sync(() => running.abort())
  })
