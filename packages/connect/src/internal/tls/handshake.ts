/**
 * One TCP connect and verified TLS handshake (S1, S2, S4) within the connect-attempt time-out: the
 * socket of a refused handshake is destroyed before anyone could write to it.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Net from "node:net"
import * as NodeTls from "node:tls"
import type { Target, TlsConnection } from "../../TlsConnector.js"
import * as TlsError from "../../TlsError.js"
import { chainOf, classify, codeOf, type Observed } from "./classify.js"
import * as Sessions from "./sessions.js"
import type * as Trust from "./trust.js"

/**
 * How a handshake ended, told once, by the socket's events or the time-out; `await` waits for it.
 * Plain code rather than a `Deferred`, for the cold path (bench/RESULTS.md, "Measured choices": the
 * handshake latch).
 */
class HandshakeEnd {
  private result: Exit.Exit<void, unknown> | undefined = undefined
  private waiter: ((exit: Exit.Exit<void, unknown>) => void) | undefined = undefined

  /** Whether the end is told already (what comes after is ignored). */
  get ended(): boolean {
    return this.result !== undefined
  }

  done(exit: Exit.Exit<void, unknown>): void {
    if (this.result !== undefined) return
    this.result = exit
    const waiter = this.waiter
    this.waiter = undefined
    if (waiter !== undefined) waiter(exit)
  }

  /** Interrupting the wait leaves the end to be told to nobody. */
  readonly await: Effect.Effect<void, unknown> = Effect.async<void, unknown>((resume) => {
    if (this.result !== undefined) resume(this.result)
    else this.waiter = resume
  })
}

interface Opened {
  readonly socket: NodeTls.TLSSocket
  readonly observed: Observed
  readonly done: HandshakeEnd
}

const noop = () => {}

/** Ends the wait for a handshake when the connect time-out passes. */
const TIMED_OUT: unique symbol = Symbol("stpp/connect/TlsConnector/timedOut")

const open = (
  target: Target,
  store: Trust.LoadedStore,
  done: HandshakeEnd,
  session: Buffer | undefined
): Opened => {
  const observed: Observed = { tcpConnected: false, peer: undefined, facts: undefined }
  const socket = NodeTls.connect({
    host: target.address,
    port: target.port,
    servername: target.servername,
    secureContext: store.secureContext,
    // P3: a session offered only under its own key (sessions.ts); undefined: a full handshake
    session,
    minVersion: "TLSv1.2",
    rejectUnauthorized: true,
    // Node reads the peer's chain for the host name check; it is kept from here rather than read a
    // second time (reading a detailed chain is costly).
    checkServerIdentity: (hostname, cert) => {
      observed.peer = cert as NodeTls.DetailedPeerCertificate
      return NodeTls.checkServerIdentity(hostname, cert)
    },
    ALPNProtocols: ["http/1.1"]
  })
  // A persistent listener: an error at any time (also after HTTP took over) must not crash the process.
  socket.on("error", noop)
  socket.once("connect", () => {
    observed.tcpConnected = true
  })
  // Node emits "secure" just before it checks the chain and the name and, on a failure, destroys the
  // socket; the served chain is read here so that an error can say what was wrong with it.
  socket.prependOnceListener("secure", () => {
    observed.tcpConnected = true
    // When the chain verified, Node's host name check (above) records it; otherwise it is read here,
    // before Node destroys the socket.
    const handle = (socket as unknown as { readonly _handle?: { readonly verifyError?: () => unknown } })._handle
    const verifyError = typeof handle?.verifyError === "function" ? handle.verifyError() : "unknown"
    if (verifyError === null || verifyError === undefined) return
    try {
      observed.peer = socket.getPeerCertificate(true)
    } catch {
      // described without the chain
    }
  })
  socket.once("secureConnect", () => done.done(Exit.void))
  socket.once("error", (error) => done.done(Exit.fail(error)))
  // every connection closes some time: the error (and its stack) is made only when it is the end
  socket.once("close", () => {
    if (!done.ended) {
      done.done(Exit.fail(Object.assign(new Error("closed before the handshake finished"), { code: "ECONNRESET" })))
    }
  })
  return { socket, observed, done }
}

/**
 * Sessions a server hands a connection (TLS 1.2 during the handshake, TLS 1.3 after it, maybe
 * several), kept only once the connection verified: the last one before that is held until then,
 * and dropped with the socket if it never does.
 */
class Recorder {
  private verified: Sessions.Verified | undefined = undefined
  private epoch = 0
  private pending: Buffer | undefined = undefined

  constructor(
    private readonly cache: Sessions.SessionCache,
    private readonly key: string,
    private readonly now: () => number
  ) {}

  readonly onSession = (session: Buffer): void => {
    if (this.verified === undefined) this.pending = session
    else this.cache.record(this.key, session, this.verified, this.now(), this.epoch)
  }

  /** `epoch`: the cache's when `verified` was current (a refusal since then: nothing is kept). */
  verify(verified: Sessions.Verified, epoch: number): void {
    this.verified = verified
    this.epoch = epoch
    const pending = this.pending
    this.pending = undefined
    if (pending !== undefined) this.cache.record(this.key, pending, verified, this.now(), epoch)
  }
}

/** @internal */
export interface Handshaken {
  readonly connection: TlsConnection
  /** The served chain's facts, read when asked for (a connection for requests never asks). */
  readonly chain: () => ReadonlyArray<Trust.CertificateFacts>
}

/** @internal */
export const handshake = (
  target: Target,
  store: Trust.LoadedStore,
  timeout: Duration.Duration,
  /** P3: where sessions are offered from and kept; undefined (the trust report): always a full handshake. */
  cache?: Sessions.SessionCache | undefined
): Effect.Effect<Handshaken, TlsError.TlsConnectError, Scope.Scope> =>
  Effect.gen(function*() {
    const where = { host: target.servername, address: target.address, port: target.port }
    if (Net.isIP(target.servername) !== 0 || target.servername.length === 0) {
      return yield* Effect.fail(new TlsError.ServernameRequired(where))
    }
    const clock = yield* Effect.clock
    const start = clock.unsafeCurrentTimeMillis()
    const done = new HandshakeEnd()
    let key = ""
    let offered: Sessions.Entry | undefined
    let epoch = 0
    if (cache !== undefined) {
      cache.useStore(store.id)
      key = Sessions.keyOf(store.id, target)
      offered = cache.lookup(key, start)
      epoch = cache.epoch
    }
    // The socket is closed with the caller's scope, by a finalizer added to it: closing needs none
    // of the acquiring fiber's context (bench/RESULTS.md, "Measured choices": the handshake latch).
    const opened = yield* Effect.uninterruptible(Effect.tap(
      Effect.try({
        try: () => open(target, store, done, offered?.session),
        // e.g. a port out of range: node throws before any socket exists
        catch: (error): TlsError.TlsConnectError =>
          new TlsError.ConnectFailed({ ...where, phase: "tcp", code: codeOf(error), reason: "other" })
      }),
      ({ socket }) =>
        Effect.flatMap(Effect.scope, (scope) => Scope.addFinalizer(scope, Effect.sync(() => socket.destroy())))
    ))
    const { observed, socket } = opened
    const recorder = cache === undefined ? undefined : new Recorder(cache, key, () => clock.unsafeCurrentTimeMillis())
    if (recorder !== undefined) socket.on("session", recorder.onSession)
    const timeoutMillis = Duration.toMillis(timeout)
    // The connect time-out on Clock (so TestClock drives it): a sleeping child that ends the wait
    // rather than a race of two fibers (bench/RESULTS.md, "Measured choices": the handshake latch).
    const timer = yield* Effect.fork(
      Effect.zipRight(Effect.sleep(timeout), Effect.sync(() => done.done(Exit.fail(TIMED_OUT))))
    )
    yield* done.await.pipe(
      Effect.catchAll((error) =>
        error === TIMED_OUT
          ? Effect.fail<TlsError.TlsConnectError>(
            observed.tcpConnected
              ? new TlsError.HandshakeTimeout({ ...where, timeoutMillis })
              : new TlsError.ConnectTimeout({ ...where, timeoutMillis })
          )
          : Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.fail(classify(target, observed, error, now, store)))
      ),
      // A refused certificate is refused again on reconnect: no session of the host is offered
      // after a refusal, nor a session offered on an attempt that failed.
      Effect.tapError((e) =>
        Effect.sync(() => {
          if (cache === undefined) return
          if (TlsError.isVerificationError(e)) cache.dropHost(target.servername)
          else if (offered !== undefined) cache.drop(key)
        })
      ),
      // Whatever ended the attempt, a socket that did not verify is gone before anyone could write.
      Effect.onExit((exit) =>
        Effect.fiberIdWith((self) => {
          // the timer is told to stop, not waited for (nor a fiber forked to wait for it)
          timer.unsafeInterruptAsFork(self)
          if (!Exit.isSuccess(exit)) socket.destroy()
          return Effect.void
        })
      )
    )
    const end = yield* Clock.currentTimeMillis
    const resumed = offered !== undefined && socket.isSessionReused()
    if (recorder !== undefined && cache !== undefined) {
      // resumed: the verification the offered session goes back to, as current as when it was offered
      if (resumed && offered !== undefined) recorder.verify(offered.verified, epoch)
      else {
        // verified in full just now: Node checked the chain, then the name on the leaf seen here
        const notAfter = observed.peer === undefined ? Number.NaN : Date.parse(observed.peer.valid_to)
        if (Number.isFinite(notAfter)) recorder.verify({ at: end, notAfter }, cache.epoch)
      }
    }
    const base = socket.bytesWritten
    const cipher = socket.getCipher() as NodeTls.CipherNameAndProtocol | undefined
    const connection: TlsConnection = {
      socket,
      bytesWritten: () => socket.bytesWritten - base,
      address: target.address,
      port: target.port,
      servername: target.servername,
      protocol: socket.getProtocol(),
      cipher: cipher?.name ?? null,
      connectMillis: end - start,
      resumed
    }
    return { connection, chain: () => chainOf(observed) }
  })
