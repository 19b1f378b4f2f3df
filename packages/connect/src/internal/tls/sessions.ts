/**
 * TLS session resumption (P3) without weakening S1/S2: a bounded cache of the last session each
 * verified connection was given, one per host name, address, port and trust store.
 *
 * What a resumed handshake proves: the server holds the secret of a session that only a peer which
 * passed full verification (chain to a trusted root, host name) could have agreed, for exactly this
 * name, address, port and store. Node skips the chain and the name check on a resumed session and
 * reports it authorized whatever the context or servername offered (Node 20, TLS 1.2 and 1.3), and
 * a resumed session shows no peer certificate, so that guarantee holds only if
 * - a session is recorded only from a connection that verified in full, or that resumed a session
 *   recorded so (it inherits that verification's time and certificate expiry),
 * - it is offered only for the key it was recorded under (the key holds all four, and the cache is
 *   emptied when the store it serves changes),
 * - it is never used past the verified leaf's notAfter, the server's ticket lifetime hint, nor
 *   `MAX_AGE_MILLIS` after the full verification it goes back to: at least that often the server's
 *   current certificate is checked again, also when it keeps its ticket keys,
 * - after any refusal of a certificate of a host, none of the host's sessions is offered again
 *   (so a refused certificate is refused again on reconnect), nor stored from a connection that
 *   resumed (or verified) before the refusal, and a session offered on a failed attempt is dropped,
 * - the trust report (`stpp doctor`) never offers one: it needs the served chain.
 *
 * @internal
 */
import type { Target } from "../../TlsConnector.js"

/** The full verification a session goes back to. @internal */
export interface Verified {
  /** When the full handshake verified, by Clock (ms). */
  readonly at: number
  /** The verified leaf certificate's notAfter (ms since the epoch). */
  readonly notAfter: number
}

/** @internal */
export interface Entry {
  readonly session: Buffer
  readonly verified: Verified
  readonly expiresAt: number
}

/** A session is never used longer than this after the full verification it goes back to. @internal */
export const MAX_AGE_MILLIS = 60 * 60 * 1000

/** The default number of (host name, address, port) entries: Node's `https.Agent` keeps 100 sessions. @internal */
export const DEFAULT_ENTRIES = 100

/**
 * The ticket lifetime hint (seconds) of an OpenSSL session as `tls` hands it out (DER of
 * `SSL_SESSION_ASN1`: field `[9] EXPLICIT INTEGER`), or undefined when it holds none (a TLS 1.2
 * session id) or cannot be read.
 *
 * @internal
 */
export const lifetimeHintSeconds = (der: Buffer): number | undefined => {
  // a definite length at `at`: [length, where the content starts]
  const lengthAt = (at: number): readonly [number, number] | undefined => {
    if (at >= der.length) return undefined
    const first = der[at]
    if (first < 0x80) return [first, at + 1]
    const n = first & 0x7f
    if (n === 0 || n > 3 || at + 1 + n > der.length) return undefined
    let length = 0
    for (let i = 0; i < n; i++) length = length * 256 + der[at + 1 + i]
    return [length, at + 1 + n]
  }
  if (der[0] !== 0x30) return undefined
  const outer = lengthAt(1)
  if (outer === undefined) return undefined
  const end = Math.min(der.length, outer[1] + outer[0])
  let at = outer[1]
  while (at < end) {
    const tag = der[at]
    const length = lengthAt(at + 1)
    if (length === undefined) return undefined
    const [size, content] = length
    if (tag === 0xa9) {
      // [9] { INTEGER }
      if (der[content] !== 0x02) return undefined
      const inner = lengthAt(content + 1)
      if (inner === undefined || inner[0] < 1 || inner[0] > 6) return undefined
      let value = 0
      for (let i = 0; i < inner[0]; i++) value = value * 256 + der[inner[1] + i]
      return value
    }
    at = content + size
  }
  return undefined
}

/** @internal */
export const keyOf = (storeId: number, target: Target): string =>
  `${storeId}\u0000${target.servername.toLowerCase()}\u0000${target.address}\u0000${target.port}`

/**
 * The cache: at most `capacity` entries, the least recently stored one dropped first. Plain code,
 * called from socket events; every time is given by the caller, read from `Clock`.
 *
 * @internal
 */
export class SessionCache {
  private readonly entries = new Map<string, Entry>()
  private storeId: number | undefined = undefined
  private drops = 0

  constructor(readonly capacity: number, readonly maxAgeMillis: number = MAX_AGE_MILLIS) {}

  /** Entries held (for tests). */
  get size(): number {
    return this.entries.size
  }

  /**
   * Counts the refusals and store changes so far: a session is stored only with the epoch read when
   * the verification it goes back to was current, so none from before a refusal comes back.
   */
  get epoch(): number {
    return this.drops
  }

  /** The trust store now in use: a different one empties the cache. */
  useStore(storeId: number): void {
    if (this.storeId === storeId) return
    this.storeId = storeId
    this.entries.clear()
    this.drops++
  }

  /** The session to offer for `key` at `now`, if one is held and still good. */
  lookup(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    if (now >= entry.expiresAt) {
      this.entries.delete(key)
      return undefined
    }
    return entry
  }

  /**
   * A session the server gave a connection that verified (in full, or by resuming `verified`),
   * with the `epoch` of that verification.
   */
  record(key: string, session: Buffer, verified: Verified, now: number, epoch: number = this.drops): void {
    if (this.capacity <= 0 || epoch !== this.drops) return
    const hint = lifetimeHintSeconds(session)
    const expiresAt = Math.min(
      verified.notAfter,
      verified.at + this.maxAgeMillis,
      hint !== undefined && hint > 0 ? now + hint * 1000 : Number.POSITIVE_INFINITY
    )
    if (!(expiresAt > now)) return
    this.entries.delete(key)
    this.entries.set(key, { session, verified, expiresAt })
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next()
      if (oldest.done !== true) this.entries.delete(oldest.value)
    }
  }

  /** Forgets the session of one key (it was offered on an attempt that failed). */
  drop(key: string): void {
    this.entries.delete(key)
  }

  /** Forgets every session of a host name (one of its certificates was refused). */
  dropHost(servername: string): void {
    this.drops++
    const name = `\u0000${servername.toLowerCase()}\u0000`
    for (const key of [...this.entries.keys()]) {
      if (key.includes(name)) this.entries.delete(key)
    }
  }
}
