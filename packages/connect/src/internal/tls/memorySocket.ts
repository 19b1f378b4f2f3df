/**
 * An in-memory socket pair for the test TlsConnector: what the client writes, the server side
 * reads, and the other way round. Counts the client's bytes like a TLS socket's `bytesWritten`.
 *
 * @internal
 */
import { Duplex } from "node:stream"

/** @internal */
export interface MemorySocket extends Duplex {
  /** Bytes handed to this side by its user. */
  readonly bytesWritten: number
  readonly remoteAddress: string
  readonly remotePort: number
  readonly encrypted: true
  setNoDelay(noDelay?: boolean): this
  setKeepAlive(enable?: boolean, initialDelay?: number): this
  setTimeout(timeout: number, callback?: () => void): this
  ref(): this
  unref(): this
}

const reset = (): Error => Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", syscall: "read" })

class Side extends Duplex {
  peer: Side | undefined
  written = 0
  readonly encrypted = true as const

  constructor(readonly remoteAddress: string, readonly remotePort: number) {
    super({ allowHalfOpen: false })
  }

  get bytesWritten(): number {
    return this.written
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.peer
    if (peer === undefined || peer.destroyed) {
      callback(reset())
      return
    }
    this.written += chunk.length
    peer.push(chunk)
    callback()
  }

  override _final(callback: (error?: Error | null) => void): void {
    const peer = this.peer
    if (peer !== undefined && !peer.destroyed) peer.push(null)
    callback()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.peer
    if (peer !== undefined && !peer.destroyed) {
      // An abrupt close: the other side sees a reset (or the end, if this side had ended cleanly).
      if (error !== null || !this.writableFinished) peer.destroy(reset())
      else peer.push(null)
    }
    callback(error)
  }

  setNoDelay(): this {
    return this
  }

  setKeepAlive(): this {
    return this
  }

  setTimeout(): this {
    return this
  }

  ref(): this {
    return this
  }

  unref(): this {
    return this
  }
}

/** A connected pair: `client` is handed to the library, `server` to the test. @internal */
export const memoryPair = (
  address: string,
  port: number
): { readonly client: MemorySocket; readonly server: MemorySocket } => {
  const client = new Side(address, port)
  const server = new Side("127.0.0.1", 50000)
  client.peer = server
  server.peer = client
  return { client, server }
}
