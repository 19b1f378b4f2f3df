/**
 * The connection pool under ConnectionService: the idle and open connections, the `maxSockets`
 * permits, retiring, housekeeping at the next deadline it knows of, and shutdown. It lives in the
 * layer's scope: closing that closes every connection.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as Scope from "effect/Scope"
import type { TlsConnection } from "../TlsConnector.js"
import * as Connection from "./connection.js"
import { Housekeeper } from "./housekeeper.js"
import * as Http from "./http.js"
import * as Metrics from "./metrics.js"
import * as Permits from "./permits.js"
import { Slots } from "./slots.js"

/** A debug line, built only when it would be written. @internal */
export type LogDebug = (message: string, annotations: Record<string, unknown>) => Effect.Effect<void>

/** @internal */
export interface Options {
  readonly maxSockets: number
  readonly keepAliveIdleMillis: number
  readonly maxResponseBytes: number
  /** Parsed once: undici parses a string origin anew for every client. */
  readonly origin: URL
  readonly logDebug: LogDebug
}

/** @internal */
export interface Pool {
  /** The `maxSockets` bound on requests in flight. */
  readonly permits: Permits.Permits
  /** Exchanges in flight with their IO deadlines, expired by housekeeping. */
  readonly deadlines: Http.Deadlines
  /** The layer was closed: nothing is kept or opened any more. */
  readonly shutDown: () => boolean
  /**
   * Closes a connection now and takes it out of the pool (closing does not wait for undici);
   * `afterAnswer`: it answered in full, closed just after the caller has the answer (`Connection.close`).
   */
  readonly retire: (p: Connection.Pooled, reason: string, afterAnswer?: boolean) => Effect.Effect<void>
  /** An idle connection that may be reused now, if any, most recently used first; stale ones found are retired. */
  readonly takeIdle: (now: number) => Effect.Effect<Connection.Pooled | undefined>
  /** The most recently used idle connection when it may be reused now, in plain code (the warm path). */
  readonly takeFresh: (now: number) => Connection.Pooled | undefined
  /** Bookkeeping after an answer: back to the idle list, or why the connection may not be reused. */
  readonly answered: (
    p: Connection.Pooled,
    headers: Readonly<Record<string, string>>,
    now: number
  ) => string | undefined
  /** Takes a new verified connection into the pool (closed at once after shutdown). */
  readonly add: (
    connection: TlsConnection,
    scope: Scope.CloseableScope | undefined,
    dnsExpiresAt: number,
    now: number,
    maxRequests: number
  ) => Connection.Pooled
}

// The earliest the sweeper wakes for connections in use (so a keep-alive of 0 cannot spin it).
const BUSY_FLOOR_MILLIS = 1000

/** @internal */
export const make = (options: Options): Effect.Effect<Pool, never, Scope.Scope> =>
  Effect.gen(function*() {
    const layerScope = yield* Effect.scope
    const { logDebug } = options
    const limits: Connection.Limits = { keepAliveIdleMillis: options.keepAliveIdleMillis }
    const permits = Permits.make(options.maxSockets)
    const idle: Array<Connection.Pooled> = []
    // connections come and go hundreds of times a second under load: `Slots`, not a `Set` (see there)
    const open = new Slots<Connection.Pooled>()

    const retire = (p: Connection.Pooled, reason: string, afterAnswer = false) =>
      Effect.suspend(() => {
        if (!open.delete(p)) return Effect.void
        const i = idle.indexOf(p)
        if (i >= 0) idle.splice(i, 1)
        return Connection.close(p, afterAnswer).pipe(
          Effect.zipRight(Metric.increment(Metrics.retiredCounter(reason))),
          Effect.zipRight(
            logDebug("connection retired", { connection: p.id, address: p.address, reason, requests: p.requests })
          )
        )
      })

    // Housekeeping on Clock (so TestClock drives it), at the next deadline it knows of:
    // - the send/receive time-out (STPP_IO_TIMEOUT): requests in flight past their deadline are
    //   aborted; one sweeper rather than a timer race per request (bench/RESULTS.md, "Measured choices":
    //   the IO deadline sweeper);
    // - idle connections whose DNS answer expired (D2), that idled too long, or whose socket closed,
    //   are closed even when no request comes to notice.
    const housekeeper = new Housekeeper()
    const deadlines = new Http.Deadlines((deadline) => housekeeper.notify(deadline))
    const sweep = (now: number) =>
      Effect.suspend(() => {
        let next = deadlines.expireUntil(now)
        const stale: Array<readonly [Connection.Pooled, string]> = []
        for (const p of idle) {
          const reason = Connection.staleReason(p, now, limits)
          if (reason !== undefined) stale.push([p, reason])
          else next = Math.min(next, Connection.staleAt(p, limits))
        }
        // A connection in use is handed back later and is stale no earlier than its idle limit from
        // now: waking by then spares a wake-up per request when it is handed back (a fiber race
        // each, bench/RESULTS.md "The housekeeper's wake-ups").
        if (open.size > idle.length) {
          for (const p of open.toArray()) {
            if (!idle.includes(p)) next = Math.min(next, Connection.earliestStaleAt(p, now, limits, BUSY_FLOOR_MILLIS))
          }
        }
        return Effect.as(Effect.forEach(stale, ([p, reason]) => retire(p, reason), { discard: true }), next)
      })
    const idleClosed = (p: Connection.Pooled) => {
      if (idle.includes(p)) housekeeper.notify(Number.NEGATIVE_INFINITY)
    }
    yield* Effect.forkIn(housekeeper.run(sweep), layerScope)
    // Once the layer is closed, a connection that a request still in flight opens or hands back is
    // closed at once rather than kept.
    let shutDown = false
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        shutDown = true
        return Effect.forEach(open.toArray(), (p) => Connection.closeAndWait(p), { discard: true })
      }).pipe(
        Effect.tap(() => Effect.sync(() => open.clear()))
      )
    )

    const takeIdle = (now: number): Effect.Effect<Connection.Pooled | undefined> => {
      const p = idle.pop()
      if (p === undefined) return Effect.succeed(undefined)
      const reason = Connection.staleReason(p, now, limits)
      if (reason === undefined) return Effect.succeed(p)
      return Effect.zipRight(retire(p, reason), Effect.suspend(() => takeIdle(now)))
    }

    const answered = (
      p: Connection.Pooled,
      headers: Readonly<Record<string, string>>,
      now: number
    ): string | undefined => {
      p.requests++
      p.lastUsedAt = now
      Connection.applyHint(p, Http.keepAliveHint(headers))
      // a close we asked for on its last request by count is that limit, not the server's choice
      const stale = p.closed && !p.closeAsked
        ? "server-close"
        : shutDown
        ? "shut-down"
        : !p.closeAsked && Connection.staleReason(p, now, limits) === undefined
        ? undefined
        : "limit"
      if (stale === undefined) {
        idle.push(p)
        housekeeper.notify(Connection.staleAt(p, limits))
      }
      return stale
    }

    const add = (
      connection: TlsConnection,
      scope: Scope.CloseableScope | undefined,
      dnsExpiresAt: number,
      now: number,
      maxRequests: number
    ): Connection.Pooled => {
      const pooled = Connection.wrap(
        connection,
        scope,
        options.origin,
        dnsExpiresAt,
        now,
        options.maxResponseBytes,
        maxRequests,
        idleClosed
      )
      if (shutDown) Connection.closeNow(pooled)
      else open.add(pooled)
      return pooled
    }

    return {
      permits,
      deadlines,
      shutDown: () => shutDown,
      retire,
      takeIdle,
      takeFresh: (now) => Connection.takeFresh(idle, now, limits),
      answered,
      add
    }
  })
