/**
 * One pooled connection: a verified TLS connection carrying one undici `Client` (HTTP/1.1, no
 * pipelining), kept alive only while the DNS answer that chose its address is fresh (D2), the server
 * has not asked to close, and it has not idled as long as the server would let it.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { constVoid } from "effect/Function"
import * as Scope from "effect/Scope"
import type * as Net from "node:net"
import * as Undici from "undici"
import type { TlsConnection } from "../TlsConnector.js"
import { type KeepAliveHint, MAX_RESPONSE_HEADER_BYTES } from "./http.js"
import type { Slotted } from "./slots.js"

/** @internal */
export interface Pooled extends Slotted {
  readonly id: number
  readonly connection: TlsConnection
  readonly address: string
  /** When the DNS answer that chose this address expires (epoch ms). */
  readonly dnsExpiresAt: number
  readonly dispatcher: Undici.Client
  /** The connector's scope for the connection; none for the live connector's (its socket is ours to close). */
  readonly scope: Scope.CloseableScope | undefined
  lastUsedAt: number
  requests: number
  /**
   * This connection's own cap on requests: `keepAliveMaxRequests` less up to a fifth, drawn when
   * it opened, so that connections opened together are not all retired (and reopened) together.
   */
  readonly maxRequests: number
  /** The socket ended or closed, or the server said `Connection: close`. */
  closed: boolean
  /** Its last request by count went out with `connection: close` (`lastByCount`). */
  closeAsked: boolean
  /** `Keep-Alive: timeout` from the server, in ms. */
  serverIdleMillis: number | undefined
  /** `Keep-Alive: max` from the server. */
  serverMaxRequests: number | undefined
}

/** @internal */
export interface Limits {
  readonly keepAliveIdleMillis: number
}

/**
 * The range a connection's own request cap is drawn from: from four fifths of
 * `keepAliveMaxRequests` (at least 1) to all of it.
 *
 * @internal
 */
export const maxRequestsRange = (keepAliveMaxRequests: number): readonly [number, number] => [
  Math.max(1, Math.ceil(keepAliveMaxRequests * 0.8)),
  keepAliveMaxRequests
]

/**
 * Retire an idle connection this long before the server's own keep-alive time-out (1 s, or a
 * quarter of a short time-out), so that a request never races the server's close.
 *
 * @internal
 */
export const serverIdleMargin = (serverIdleMillis: number): number => Math.min(1000, serverIdleMillis / 4)

/** Why an idle connection may not be reused now, or undefined when it may. @internal */
export const staleReason = (p: Pooled, now: number, limits: Limits): string | undefined => {
  if (p.closed) return "closed"
  if (p.connection.socket.destroyed || p.connection.socket.readableEnded) return "closed"
  if (now >= p.dnsExpiresAt) return "dns-ttl-expired"
  const idleLimit = Math.min(
    limits.keepAliveIdleMillis,
    p.serverIdleMillis === undefined
      ? Number.POSITIVE_INFINITY
      : p.serverIdleMillis - serverIdleMargin(p.serverIdleMillis)
  )
  if (now - p.lastUsedAt >= idleLimit) return "idle"
  const maxRequests = Math.min(
    p.maxRequests,
    p.serverMaxRequests === undefined ? Number.POSITIVE_INFINITY : p.serverMaxRequests
  )
  if (p.requests >= maxRequests) return "max-requests"
  return undefined
}

/**
 * Whether the next request on `p` is its last by count (its own cap or the server's `Keep-Alive:
 * max`): the pool retires it after that answer whatever else happens.
 *
 * @internal
 */
export const lastByCount = (p: Pooled): boolean =>
  p.requests + 1 >= Math.min(
    p.maxRequests,
    p.serverMaxRequests === undefined ? Number.POSITIVE_INFINITY : p.serverMaxRequests
  )

/**
 * When an idle connection becomes stale by time alone (its DNS answer or its idle limit), epoch ms:
 * the housekeeper wakes then.
 *
 * @internal
 */
export const staleAt = (p: Pooled, limits: Limits): number => staleAtFrom(p, p.lastUsedAt, limits)

// When a connection last used at `from` becomes stale by time alone.
const staleAtFrom = (p: Pooled, from: number, limits: Limits): number =>
  Math.min(
    p.dnsExpiresAt,
    from + limits.keepAliveIdleMillis,
    p.serverIdleMillis === undefined
      ? Number.POSITIVE_INFINITY
      : from + p.serverIdleMillis - serverIdleMargin(p.serverIdleMillis)
  )

/**
 * The earliest a connection in use now can become stale by time alone once it is handed back
 * (its DNS answer, or its idle limit counted from now), epoch ms, but not before `now + floor`.
 *
 * @internal
 */
export const earliestStaleAt = (p: Pooled, now: number, limits: Limits, floor: number): number =>
  Math.max(now + floor, staleAtFrom(p, now, limits))

/**
 * The most recently used idle connection when it may be reused now, taken off `idle`; otherwise
 * undefined, and `idle` is left as it was (whoever retires stale connections finds it there).
 *
 * @internal
 */
export const takeFresh = (idle: Array<Pooled>, now: number, limits: Limits): Pooled | undefined => {
  const p = idle.at(-1)
  if (p === undefined || staleReason(p, now, limits) !== undefined) return undefined
  idle.pop()
  return p
}

/** Record what the server said about keeping the connection. @internal */
export const applyHint = (p: Pooled, hint: KeepAliveHint): void => {
  if (hint.close) p.closed = true
  if (hint.timeoutMillis !== undefined) p.serverIdleMillis = hint.timeoutMillis
  if (hint.max !== undefined) p.serverMaxRequests = p.requests + hint.max
}

let nextId = 0

/**
 * Wraps a verified connection in an undici Client whose connector hands over this socket once and
 * refuses to open any other: undici never reconnects behind the retry policy's back.
 *
 * @internal
 */
export const wrap = (
  connection: TlsConnection,
  scope: Scope.CloseableScope | undefined,
  /** Parsed once by the caller: undici parses a string origin anew for every client. */
  origin: URL,
  dnsExpiresAt: number,
  now: number,
  maxResponseBytes: number,
  maxRequests: number,
  /** Hears when the socket ended or closed (the pool retires it if idle). */
  onClosed: (p: Pooled) => void = constVoid
): Pooled => {
  let handedOver = false
  const dispatcher = new Undici.Client(origin, {
    pipelining: 1,
    // keep-alive is managed by the pool (Clock-based); undici must not hold sockets past the pool
    keepAliveTimeout: 10 * 60 * 1000,
    keepAliveMaxTimeout: 10 * 60 * 1000,
    // the IO time-out is Effect's (STPP_IO_TIMEOUT)
    headersTimeout: 0,
    bodyTimeout: 0,
    // a larger answer is cut off by undici (UND_ERR_RES_EXCEEDED_MAX_SIZE): memory stays bounded
    maxResponseSize: maxResponseBytes,
    // so are its headers: too many or too large is "response-headers-too-large", not a hang or "closed"
    maxHeaderSize: MAX_RESPONSE_HEADER_BYTES,
    connect: (_options, callback) => {
      // undici expects its connector to answer asynchronously (a synchronous answer stalls it)
      if (handedOver || connection.socket.destroyed) {
        process.nextTick(() => callback(new RetiredConnection(), null))
        return
      }
      handedOver = true
      process.nextTick(() => callback(null, connection.socket as unknown as Net.Socket))
    }
  })
  const pooled: Pooled = {
    id: ++nextId,
    connection,
    address: connection.address,
    dnsExpiresAt,
    dispatcher,
    scope,
    slot: -1,
    lastUsedAt: now,
    requests: 0,
    maxRequests,
    closed: false,
    closeAsked: false,
    serverIdleMillis: undefined,
    serverMaxRequests: undefined
  }
  const markClosed = () => {
    if (pooled.closed) return
    pooled.closed = true
    onClosed(pooled)
  }
  connection.socket.once("end", markClosed)
  connection.socket.once("close", markClosed)
  return pooled
}

/** The connector refused to reopen a retired connection: nothing was written on it. @internal */
export class RetiredConnection extends Error {
  readonly code = "STPP_RETIRED_CONNECTION"
  constructor() {
    super("connection retired by the pool")
  }
}

/**
 * The reason a retired connection's undici client is destroyed with: one error made once. Without
 * one, undici makes a new error, with its stack trace, for every connection it closes (two, in
 * fact: one for the client and one for the socket).
 *
 * @internal
 */
export const retiredError: Error = new RetiredConnection()

/**
 * Starts closing a pooled connection, at once and in plain code: undici's client is destroyed with
 * `retiredError` (it closes our socket with it), and the socket is destroyed in any case; nothing
 * waits for the close to finish; `onClosed` hears when undici has.
 *
 * @internal
 */
export const closeNow = (p: Pooled, onClosed: () => void = constVoid): void => {
  p.closed = true
  if (p.dispatcher.destroyed) {
    p.connection.socket.destroy()
    onClosed()
    return
  }
  p.dispatcher.destroy(retiredError, onClosed)
  p.connection.socket.destroy()
}

/**
 * Close a pooled connection: the undici client and our socket (`closeNow`), then the TLS
 * connection's scope. Does not wait for undici to report the client closed: the socket is gone.
 * `afterAnswer`: the connection answered in full and is retired only for its limits or the
 * server's close (nothing of it is in flight): a socket of the pool's own is closed just after the
 * caller has its answer (on the next tick) rather than before.
 *
 * @internal
 */
export const close = (p: Pooled, afterAnswer = false): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (p.scope === undefined) {
      if (afterAnswer) {
        p.closed = true
        process.nextTick(closeNow, p)
      } else closeNow(p)
      return Effect.void
    }
    closeNow(p)
    return Scope.close(p.scope, Exit.void)
  })

/**
 * `close`, and waits until undici has reported the client closed (at shutdown, so that nothing is
 * left behind).
 *
 * @internal
 */
export const closeAndWait = (p: Pooled): Effect.Effect<void> =>
  Effect.zipRight(
    Effect.async<void>((resume) => closeNow(p, () => resume(Effect.void))),
    Effect.suspend(() => p.scope === undefined ? Effect.void : Scope.close(p.scope, Exit.void))
  )
