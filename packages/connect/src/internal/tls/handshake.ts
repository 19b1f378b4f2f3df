/**
 * One TCP connect and verified TLS handshake (S1, S2, S4) within the connect-attempt time-out: the
 * socket of a refused handshake is destroyed before anyone could write to it.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as Net from "node:net"
import * as NodeTls from "node:tls"
import type { Target, TlsConnection } from "../../TlsConnector.js"
import * as TlsError from "../../TlsError.js"
import { chainOf, classify, codeOf, type Observed } from "./classify.js"
import * as Sessions from "./sessions.js"
import type * as Trust from "./trust.js"

/** @internal */
export interface Handshaken {
  readonly connection: TlsConnection
  /** The served chain's facts, read when asked for (a connection for requests never asks). */
  readonly chain: () => ReadonlyArray<Trust.CertificateFacts>
}

/** How the live clock schedules its sleeps: what `Clock.sleep` runs, without a fiber to run it in. */
interface ClockScheduler {
  readonly unsafeSchedule: (task: () => void, duration: Duration.Duration) => () => boolean
}

const LIVE_CLOCK = Context.get(DefaultServices.liveServices, Clock.Clock)
let liveScheduler: ClockScheduler | null | undefined = undefined

/**
 * The scheduler behind `clock.sleep` when `clock` is Effect's own live clock (the one that sleeps on
 * timers); any other (`TestClock`, an app's own) is slept on as a fiber, through `clock.sleep`.
 */
const schedulerOf = (clock: Clock.Clock): ClockScheduler | undefined => {
  if (clock !== LIVE_CLOCK) return undefined
  if (liveScheduler === undefined) {
    const scheduler = (clock as { readonly scheduler?: () => Effect.Effect<ClockScheduler> }).scheduler
    liveScheduler = typeof scheduler === "function" ? Effect.runSync(scheduler.call(clock)) : null
  }
  return liveScheduler ?? undefined
}

const noop = () => {}

/** The connect time-out passed (told to `Attempt.end`). */
const TIMED_OUT: unique symbol = Symbol("stpp/connect/TlsConnector/timedOut")
/** The handshake verified (told to `Attempt.end`). */
const VERIFIED: unique symbol = Symbol("stpp/connect/TlsConnector/verified")

type Resume = (effect: Effect.Effect<unknown, TlsError.TlsConnectError>) => void

/** The attempt a socket belongs to (its listeners are shared functions, not closures per socket). */
const ATTEMPT: unique symbol = Symbol("stpp/connect/TlsConnector/attempt")
type Owned = NodeTls.TLSSocket & { [ATTEMPT]: Attempt }

function onTcpConnect(this: Owned) {
  this[ATTEMPT].observed.tcpConnected = true
}
// Node emits "secure" just before it checks the chain and the name and, on a failure, destroys the
// socket; the served chain is read here so that an error can say what was wrong with it.
function onSecure(this: Owned) {
  const observed = this[ATTEMPT].observed
  observed.tcpConnected = true
  // When the chain verified, Node's host name check records it; otherwise it is read here, before
  // Node destroys the socket.
  const handle = (this as unknown as { readonly _handle?: { readonly verifyError?: () => unknown } })._handle
  const verifyError = typeof handle?.verifyError === "function" ? handle.verifyError() : "unknown"
  if (verifyError === null || verifyError === undefined) return
  try {
    observed.peer = this.getPeerCertificate(true)
  } catch {
    // described without the chain
  }
}
function onSecureConnect(this: Owned) {
  this[ATTEMPT].end(VERIFIED)
}
function onError(this: Owned, error: unknown) {
  this[ATTEMPT].end(error)
}
// every connection closes some time: the error (and its stack) is made only when it is the end
function onClose(this: Owned) {
  const attempt = this[ATTEMPT]
  if (!attempt.ended) {
    attempt.end(Object.assign(new Error("closed before the handshake finished"), { code: "ECONNRESET" }))
  }
}
function onSession(this: Owned, session: Buffer) {
  this[ATTEMPT].onSession(session)
}

/**
 * One attempt, in plain code: the socket's events, the time-out (or an interruption) end it once,
 * and the fiber waiting in `run` is resumed with what it came to. A class with shared listeners
 * rather than a latch, a timer fiber and closures per connection (bench/RESULTS.md, "Measured
 * choices": the handshake). It also keeps the sessions the server hands the connection (TLS 1.2
 * during the handshake, TLS 1.3 after it, maybe several), only once the connection verified: the
 * last one before that is held until then, and dropped with the socket if it never does.
 */
class Attempt implements Handshaken {
  readonly observed: Observed = { tcpConnected: false, peer: undefined, facts: undefined }
  socket: NodeTls.TLSSocket | undefined = undefined
  ended = false
  readonly start: number
  private key = ""
  private offered: Sessions.Entry | undefined = undefined
  private epoch = 0
  private verified: Sessions.Verified | undefined = undefined
  private pendingSession: Buffer | undefined = undefined
  private cancelTimer: () => unknown = noop
  private resume: Resume | undefined = undefined
  /** What it came to, when that was told before anyone waited. */
  private told: Effect.Effect<unknown, TlsError.TlsConnectError> | undefined = undefined
  connection!: TlsConnection

  constructor(
    readonly target: Target,
    readonly store: Trust.LoadedStore,
    readonly timeoutMillis: number,
    readonly cache: Sessions.SessionCache | undefined,
    readonly clock: Clock.Clock,
    /** Resume with the connection itself rather than this attempt (the connector's `connect`). */
    readonly asConnection: boolean
  ) {
    this.start = clock.unsafeCurrentTimeMillis()
    if (cache !== undefined) {
      cache.useStore(store.id)
      this.key = Sessions.keyOf(store.id, target)
      this.offered = cache.lookup(this.key, this.start)
      this.epoch = cache.epoch
    }
  }

  chain(): ReadonlyArray<Trust.CertificateFacts> {
    return chainOf(this.observed)
  }

  /** Opens the socket; a synchronous refusal (e.g. a port out of range) ends the attempt at once. */
  begin(resume: Resume): void {
    if (this.told !== undefined) return resume(this.told)
    this.resume = resume
    const observed = this.observed
    const target = this.target
    let socket: NodeTls.TLSSocket
    try {
      socket = NodeTls.connect({
        host: target.address,
        port: target.port,
        servername: target.servername,
        secureContext: this.store.secureContext,
        // P3: a session offered only under its own key (sessions.ts); undefined: a full handshake
        session: this.offered?.session,
        minVersion: "TLSv1.2",
        rejectUnauthorized: true,
        // Node reads the peer's chain for the host name check; it is kept from here rather than read
        // a second time (reading a detailed chain is costly).
        checkServerIdentity: (hostname, cert) => {
          observed.peer = cert as NodeTls.DetailedPeerCertificate
          return NodeTls.checkServerIdentity(hostname, cert)
        },
        ALPNProtocols: ["http/1.1"]
      })
    } catch (error) {
      this.ended = true
      return resume(Effect.fail(
        new TlsError.ConnectFailed({ ...this.where(), phase: "tcp", code: codeOf(error), reason: "other" })
      ))
    }
    this.socket = socket
    ;(socket as Owned)[ATTEMPT] = this
    // A persistent listener: an error at any time (also after HTTP took over) must not crash the process.
    socket.on("error", noop)
    socket.once("connect", onTcpConnect)
    socket.prependOnceListener("secure", onSecure)
    socket.once("secureConnect", onSecureConnect)
    socket.once("error", onError)
    socket.once("close", onClose)
    if (this.cache !== undefined) socket.on("session", onSession)
  }

  /** The connect time-out on the live clock: a timer, cancelled when the attempt ends. */
  schedule(scheduler: ClockScheduler): void {
    if (this.ended) return
    this.cancelTimer = scheduler.unsafeSchedule(() => this.end(TIMED_OUT), Duration.millis(this.timeoutMillis))
  }

  /** The one end: verified, an error, or the time-out; what comes after is ignored. */
  end(outcome: unknown): void {
    if (this.ended) return
    this.ended = true
    this.cancelTimer()
    this.cancelTimer = noop
    const told = outcome === VERIFIED ? this.verifiedNow() : this.failedNow(outcome)
    const resume = this.resume
    this.resume = undefined
    if (resume === undefined) this.told = told
    else resume(told)
  }

  /** Its caller was interrupted before it took the connection: the socket goes, verified or not. */
  discard(): void {
    this.interrupt()
    this.socket?.destroy()
  }

  /** Interrupted while it ran: the socket is gone, the timer stopped, nothing is told. */
  interrupt(): void {
    if (this.ended) return
    this.ended = true
    this.resume = undefined
    this.cancelTimer()
    this.cancelTimer = noop
    this.socket?.destroy()
  }

  onSession(session: Buffer): void {
    const verified = this.verified
    if (verified === undefined) this.pendingSession = session
    else this.cache?.record(this.key, session, verified, this.clock.unsafeCurrentTimeMillis(), this.epoch)
  }

  private where() {
    return { host: this.target.servername, address: this.target.address, port: this.target.port }
  }

  /** `epoch`: the cache's when `verified` was current (a refusal since then: nothing is kept). */
  private verify(verified: Sessions.Verified, epoch: number): void {
    this.verified = verified
    this.epoch = epoch
    const pending = this.pendingSession
    this.pendingSession = undefined
    if (pending !== undefined) {
      this.cache?.record(this.key, pending, verified, this.clock.unsafeCurrentTimeMillis(), epoch)
    }
  }

  private verifiedNow(): Effect.Effect<unknown> {
    const socket = this.socket!
    const target = this.target
    const end = this.clock.unsafeCurrentTimeMillis()
    const offered = this.offered
    const resumed = offered !== undefined && socket.isSessionReused()
    const cache = this.cache
    if (cache !== undefined) {
      // resumed: the verification the offered session goes back to, as current as when it was offered
      if (resumed) this.verify(offered.verified, this.epoch)
      else {
        // verified in full just now: Node checked the chain, then the name on the leaf seen here
        const peer = this.observed.peer
        const notAfter = peer === undefined ? Number.NaN : Date.parse(peer.valid_to)
        if (Number.isFinite(notAfter)) this.verify({ at: end, notAfter }, cache.epoch)
      }
    }
    const base = socket.bytesWritten
    const cipher = socket.getCipher() as NodeTls.CipherNameAndProtocol | undefined
    this.connection = {
      socket,
      bytesWritten: () => socket.bytesWritten - base,
      address: target.address,
      port: target.port,
      servername: target.servername,
      protocol: socket.getProtocol(),
      cipher: cipher?.name ?? null,
      connectMillis: end - this.start,
      resumed
    }
    return Effect.succeed(this.asConnection ? this.connection : this)
  }

  /** Whatever ended the attempt, a socket that did not verify is gone before anyone could write. */
  private failedNow(error: unknown): Effect.Effect<never, TlsError.TlsConnectError> {
    this.socket?.destroy()
    const e: TlsError.TlsConnectError = error === TIMED_OUT
      ? this.observed.tcpConnected
        ? new TlsError.HandshakeTimeout({ ...this.where(), timeoutMillis: this.timeoutMillis })
        : new TlsError.ConnectTimeout({ ...this.where(), timeoutMillis: this.timeoutMillis })
      : classify(this.target, this.observed, error, this.clock.unsafeCurrentTimeMillis(), this.store)
    // A refused certificate is refused again on reconnect: no session of the host is offered
    // after a refusal, nor a session offered on an attempt that failed.
    const cache = this.cache
    if (cache !== undefined) {
      if (TlsError.isVerificationError(e)) cache.dropHost(this.target.servername)
      else if (this.offered !== undefined) cache.drop(this.key)
    }
    return Effect.fail(e)
  }
}

/**
 * The attempt as one async step: on Effect's live clock the time-out is a timer cancelled when the
 * attempt ends; on any other clock (`TestClock`) a child fiber sleeps on it, so that the clock
 * drives it; an interruption destroys the socket.
 */
const run = <A>(
  target: Target,
  store: Trust.LoadedStore,
  timeout: Duration.Duration,
  cache: Sessions.SessionCache | undefined,
  asConnection: boolean,
  holder?: { discard: () => void }
): Effect.Effect<A, TlsError.TlsConnectError> =>
  Effect.withFiberRuntime((fiber) => {
    if (Net.isIP(target.servername) !== 0 || target.servername.length === 0) {
      return Effect.fail(
        new TlsError.ServernameRequired({ host: target.servername, address: target.address, port: target.port })
      )
    }
    const clock = Context.get(fiber.getFiberRef(DefaultServices.currentServices), Clock.Clock)
    const attempt = new Attempt(target, store, Duration.toMillis(timeout), cache, clock, asConnection)
    if (holder !== undefined) holder.discard = () => attempt.discard()
    const scheduler = schedulerOf(clock)
    const wait = Effect.async<A, TlsError.TlsConnectError>((resume) => {
      attempt.begin(resume as Resume)
      if (scheduler !== undefined) attempt.schedule(scheduler)
      return Effect.sync(() => attempt.interrupt())
    })
    if (scheduler !== undefined) return wait
    return Effect.flatMap(
      Effect.fork(Effect.zipRight(clock.sleep(timeout), Effect.sync(() => attempt.end(TIMED_OUT)))),
      (timer) =>
        Effect.onExit(wait, () =>
          Effect.fiberIdWith((self) => {
            // the timer is told to stop, not waited for (nor a fiber forked to wait for it)
            timer.unsafeInterruptAsFork(self)
            return Effect.void
          }))
    )
  })

/**
 * The handshake, its socket closed with the caller's scope (the trust report).
 *
 * @internal
 */
export const handshake = (
  target: Target,
  store: Trust.LoadedStore,
  timeout: Duration.Duration,
  /** P3: where sessions are offered from and kept; undefined (the trust report): always a full handshake. */
  cache?: Sessions.SessionCache | undefined
): Effect.Effect<Handshaken, TlsError.TlsConnectError, Scope.Scope> =>
  Effect.flatMap(Effect.scope, (scope) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.tap(
        restore(run<Handshaken>(target, store, timeout, cache, false)),
        (h) => Scope.addFinalizer(scope, Effect.sync(() => h.connection.socket.destroy()))
      )
    ))

/**
 * The handshake's connection, its socket the caller's to destroy (the pool's, which closes every
 * connection it holds): no `Scope` to make, extend and close per connection.
 *
 * @internal
 */
export const connectOwned = (
  target: Target,
  store: Trust.LoadedStore,
  timeout: Duration.Duration,
  cache: Sessions.SessionCache | undefined,
  holder: { discard: () => void }
): Effect.Effect<TlsConnection, TlsError.TlsConnectError> =>
  run<TlsConnection>(target, store, timeout, cache, true, holder)
