import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as NodeCrypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Tls from "node:tls"
import * as TestCa from "../../simulator/src/TestCa.js"
import * as ConnectionConfig from "../src/ConnectionConfig.js"
import * as Sessions from "../src/internal/tls/sessions.js"
import * as TlsConnector from "../src/TlsConnector.js"

// -----------------------------------------------------------------------------
// fixtures: real TLS servers on loopback that say which handshakes resumed (server side)
// -----------------------------------------------------------------------------

const HOST = "gateway.test"
const OTHER = "other.test"

const ca = await Effect.runPromise(TestCa.make())
const leaves = await Effect.runPromise(TestCa.leaves(ca, HOST))
const both = await Effect.runPromise(ca.issue({ hostnames: [HOST, OTHER] }))
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "stpp-tls-sessions-"))
const rootFile = Path.join(dir, "root.pem")
Fs.writeFileSync(rootFile, ca.root.cert)
const rootCopy = Path.join(dir, "root-copy.pem")
Fs.writeFileSync(rootCopy, ca.root.cert)

type Version = "TLSv1.2" | "TLSv1.3"

const connector = (options: Partial<TlsConnector.Options> = {}) =>
  TlsConnector.makeWith({ trustStore: "only", caFiles: [rootFile], connectTimeout: "2 seconds", ...options })

interface SessionServer {
  readonly address: string
  readonly port: number
  /** `isSessionReused()` of every handshake the server completed, in order. */
  readonly reused: ReadonlyArray<boolean>
  /** Serves `leaf` from now on, with `ticketKeys` (default: new ones, so old tickets cannot resume). */
  readonly swap: (leaf: TestCa.ServerCertificate, ticketKeys?: Buffer) => void
}

const noop = () => {}

/**
 * A TLS server on `address` whose every connection is greeted with a line (so that a TLS 1.3 client
 * has read the tickets, which come first) and whose ticket keys are fixed: a server that keeps them
 * when its certificate changes accepts its old tickets.
 */
const sessionServer = (
  address: string,
  leaf: TestCa.ServerCertificate,
  version: Version,
  ticketKeys: Buffer = NodeCrypto.randomBytes(48),
  extra: Tls.TlsOptions = {}
): Effect.Effect<SessionServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Tls.Server; readonly info: SessionServer }>((resume) => {
      const reused: Array<boolean> = []
      const options = { minVersion: version, maxVersion: version, ticketKeys, ...extra }
      const server = Tls.createServer({ key: leaf.key, cert: leaf.chain, ...options }, (socket) => {
        socket.on("error", noop)
        reused.push(socket.isSessionReused())
        socket.write("hello\n")
      })
      server.on("tlsClientError", noop)
      server.on("error", noop)
      server.listen(0, address, () => {
        const port = (server.address() as { port: number }).port
        resume(Effect.succeed({
          server,
          info: {
            address,
            port,
            reused,
            swap: (next, keys = NodeCrypto.randomBytes(48)) =>
              server.setSecureContext({ key: next.key, cert: next.chain, ...options, ticketKeys: keys })
          }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ info }) => info))

/** One connection: connect, read the greeting (and so the tickets before it), close. */
const visit = (
  c: TlsConnector.TlsConnector["Type"],
  server: SessionServer,
  servername: string = HOST
) =>
  Effect.scoped(Effect.gen(function*() {
    const conn = yield* c.connect({ address: server.address, port: server.port, servername })
    yield* Effect.async<void>((resume) => {
      conn.socket.once("data", () => resume(Effect.void))
    })
    // the tickets are read before the greeting; let the socket's own events run out
    yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
    return conn
  }))

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a connection")
  if (exit.cause._tag !== "Fail") throw new Error(`expected a typed failure, got ${exit.cause._tag}`)
  return exit.cause.error
}

const VERSIONS: ReadonlyArray<Version> = ["TLSv1.2", "TLSv1.3"]

/**
 * What the server saw of: a full handshake, a resumed one, then two refused. A TLS 1.2 server
 * finishes its side before the client checks the chain, so it sees the two refused ones as full
 * handshakes; under TLS 1.3 the client refuses before its Finished, so the server sees nothing.
 */
const refusedFullHandshakes = (version: Version): ReadonlyArray<boolean> =>
  version === "TLSv1.2" ? [false, true, false, false] : [false, true]

// -----------------------------------------------------------------------------
// live
// -----------------------------------------------------------------------------

describe("TlsConnector session resumption (P3)", () => {
  for (const version of VERSIONS) {
    it.scopedLive(`P3: ${version}: a new connection to the same address resumes; the first was verified in full`, () =>
      Effect.gen(function*() {
        const server = yield* sessionServer("127.0.0.81", leaves.good, version)
        const c = yield* connector()
        const first = yield* visit(c, server)
        expect(first.protocol).toBe(version)
        expect(first.resumed).toBe(false)
        const runs: Array<boolean> = []
        for (let i = 0; i < 10; i++) runs.push((yield* visit(c, server)).resumed === true)
        expect(runs).toEqual(Array(10).fill(true))
        expect(server.reused).toEqual([false, ...Array(10).fill(true)])
      }))

    it.scopedLive(`P3: ${version}: never across host names, addresses or trust stores`, () =>
      Effect.gen(function*() {
        // both servers share ticket keys and a certificate for both names: they would resume anything
        const keys = NodeCrypto.randomBytes(48)
        const a = yield* sessionServer("127.0.0.82", both, version, keys)
        const b = yield* sessionServer("127.0.0.83", both, version, keys)
        const c = yield* connector()
        expect((yield* visit(c, a)).resumed).toBe(false)
        // another name at the same address and port: a full handshake, name checked
        expect((yield* visit(c, a, OTHER)).resumed).toBe(false)
        // another address with the same name
        expect((yield* visit(c, b)).resumed).toBe(false)
        // another trust store (the same root from another file: still another configuration)
        const d = yield* connector({ caFiles: [rootCopy] })
        expect((yield* visit(d, a)).resumed).toBe(false)
        // each keeps its own
        expect((yield* visit(c, a)).resumed).toBe(true)
        expect((yield* visit(c, a, OTHER)).resumed).toBe(true)
        expect((yield* visit(c, b)).resumed).toBe(true)
        expect(a.reused).toEqual([false, false, false, true, true])
        expect(b.reused).toEqual([false, true])
      }))

    it.scopedLive(`P3: ${version}: a server whose certificate turns bad is refused on reconnect, and again`, () =>
      Effect.gen(function*() {
        const server = yield* sessionServer("127.0.0.84", leaves.good, version)
        const c = yield* connector()
        yield* visit(c, server)
        expect((yield* visit(c, server)).resumed).toBe(true)
        // a new certificate and new ticket keys: the old session cannot resume, the new chain is checked
        server.swap(leaves.expired)
        const refused = failureOf(yield* Effect.exit(visit(c, server)))
        expect(refused._tag).toBe("CertificateExpired")
        const again = failureOf(yield* Effect.exit(visit(c, server)))
        expect(again._tag).toBe("CertificateExpired")
        expect(server.reused).toEqual(refusedFullHandshakes(version))
      }))

    it.effect(
      `P3: ${version}: a server that keeps its ticket keys under a bad certificate is refused once the session ages out`,
      () =>
        Effect.gen(function*() {
          // Documented decision (sessions.ts): a resumed session proves the server holds the secret
          // agreed with the verified peer, so it is accepted for at most MAX_AGE_MILLIS after that
          // verification; then the current certificate is checked in full, refused, and none of
          // the host's sessions is offered again.
          const keys = NodeCrypto.randomBytes(48)
          const server = yield* sessionServer("127.0.0.85", leaves.good, version, keys)
          const c = yield* connector()
          yield* visit(c, server)
          server.swap(leaves.wrongName, keys)
          expect((yield* visit(c, server)).resumed).toBe(true)
          yield* TestClock.adjust(Duration.millis(Sessions.MAX_AGE_MILLIS + 1))
          const refused = failureOf(yield* Effect.exit(visit(c, server)))
          expect(refused._tag).toBe("HostnameMismatch")
          const again = failureOf(yield* Effect.exit(visit(c, server)))
          expect(again._tag).toBe("HostnameMismatch")
          expect(server.reused).toEqual(refusedFullHandshakes(version))
        }).pipe(Effect.scoped)
    )

    it.effect(`P3: ${version}: a session is not offered past the server's ticket lifetime`, () =>
      Effect.gen(function*() {
        // the server would still resume it (its own clock is real time); the client no longer offers it
        const server = yield* sessionServer("127.0.0.86", leaves.good, version, undefined, { sessionTimeout: 30 })
        const c = yield* connector()
        yield* visit(c, server)
        yield* TestClock.adjust("29 seconds")
        expect((yield* visit(c, server)).resumed).toBe(true)
        // 60 s after the full handshake (and 31 s after any ticket the resumed one was given)
        yield* TestClock.adjust("31 seconds")
        expect((yield* visit(c, server)).resumed).toBe(false)
        expect(server.reused).toEqual([false, true, false])
      }).pipe(Effect.scoped))
  }

  it.scopedLive("P3: a refused certificate at one address stops resumption at every address of the host", () =>
    Effect.gen(function*() {
      const keys = NodeCrypto.randomBytes(48)
      const good = yield* sessionServer("127.0.0.87", leaves.good, "TLSv1.3", keys)
      const bad = yield* sessionServer("127.0.0.88", leaves.unknownRoot, "TLSv1.3", keys)
      const c = yield* connector()
      yield* visit(c, good)
      expect((yield* visit(c, good)).resumed).toBe(true)
      expect(failureOf(yield* Effect.exit(visit(c, bad)))._tag).toBe("UnknownIssuer")
      expect((yield* visit(c, good)).resumed).toBe(false)
      expect(good.reused).toEqual([false, true, false])
    }))

  it.scopedLive("P3: the trust report (stpp doctor) always makes a full handshake and shows the chain", () =>
    Effect.gen(function*() {
      const server = yield* sessionServer("127.0.0.89", leaves.good, "TLSv1.2")
      const c = yield* connector()
      yield* visit(c, server)
      expect((yield* visit(c, server)).resumed).toBe(true)
      const report = yield* c.trustReport({ address: server.address, port: server.port, servername: HOST })
      expect(report.chain.length).toBeGreaterThanOrEqual(2)
      expect(report.chain[0].fingerprint256).toBe(new NodeCrypto.X509Certificate(leaves.good.cert).fingerprint256)
      expect(server.reused).toEqual([false, true, false])
    }))

  it.scopedLive("P3: sessionCache 0 turns resumption off", () =>
    Effect.gen(function*() {
      const server = yield* sessionServer("127.0.0.90", leaves.good, "TLSv1.3")
      const c = yield* connector({ sessionCache: 0 })
      for (let i = 0; i < 3; i++) expect((yield* visit(c, server)).resumed).toBe(false)
      expect(server.reused).toEqual([false, false, false])
    }))
})

// -----------------------------------------------------------------------------
// the cache's own rules
// -----------------------------------------------------------------------------

describe("SessionCache (P3)", () => {
  const target = { address: "127.0.0.1", port: 443, servername: HOST }
  const session = Buffer.from([0x30, 0x00])

  it("P3: expires at the verified leaf's notAfter and MAX_AGE_MILLIS after the full verification", () => {
    const cache = new Sessions.SessionCache(10)
    const key = Sessions.keyOf(1, target)
    cache.record(key, session, { at: 0, notAfter: 1000 }, 0)
    expect(cache.lookup(key, 999)).toBeDefined()
    expect(cache.lookup(key, 1000)).toBeUndefined()
    expect(cache.size).toBe(0)
    // a session from a resumed connection inherits the verification: it does not extend it
    cache.record(key, session, { at: 0, notAfter: Number.MAX_SAFE_INTEGER }, Sessions.MAX_AGE_MILLIS - 10)
    expect(cache.lookup(key, Sessions.MAX_AGE_MILLIS - 1)).toBeDefined()
    expect(cache.lookup(key, Sessions.MAX_AGE_MILLIS)).toBeUndefined()
    // already past: not stored
    cache.record(key, session, { at: 0, notAfter: 5 }, 5)
    expect(cache.size).toBe(0)
  })

  it("P3: bounded, the oldest stored first out; emptied when the trust store changes", () => {
    const cache = new Sessions.SessionCache(2)
    const verified = { at: 0, notAfter: Number.MAX_SAFE_INTEGER }
    cache.useStore(1)
    const keys = [1, 2, 3].map((i) => Sessions.keyOf(1, { ...target, address: `127.0.0.${i}` }))
    for (const key of keys) cache.record(key, session, verified, 0)
    expect(cache.size).toBe(2)
    expect(cache.lookup(keys[0], 1)).toBeUndefined()
    expect(cache.lookup(keys[2], 1)).toBeDefined()
    cache.useStore(1)
    expect(cache.size).toBe(2)
    cache.useStore(2)
    expect(cache.size).toBe(0)
    // a different store is a different key as well
    expect(Sessions.keyOf(1, target)).not.toBe(Sessions.keyOf(2, target))
  })

  it("P3: a refusal drops every session of the host, and only of that host", () => {
    const cache = new Sessions.SessionCache(10)
    const verified = { at: 0, notAfter: Number.MAX_SAFE_INTEGER }
    const a = Sessions.keyOf(1, target)
    const b = Sessions.keyOf(1, { ...target, address: "127.0.0.2" })
    const other = Sessions.keyOf(1, { ...target, servername: OTHER })
    for (const key of [a, b, other]) cache.record(key, session, verified, 0)
    const before = cache.epoch
    cache.dropHost(HOST.toUpperCase())
    expect(cache.lookup(a, 1)).toBeUndefined()
    expect(cache.lookup(b, 1)).toBeUndefined()
    expect(cache.lookup(other, 1)).toBeDefined()
    // a connection that resumed (or verified) before the refusal brings nothing back
    cache.record(a, session, verified, 2, before)
    expect(cache.lookup(a, 3)).toBeUndefined()
    cache.record(a, session, verified, 2, cache.epoch)
    expect(cache.lookup(a, 3)).toBeDefined()
  })

  it("P3: reads the ticket lifetime hint of a DER session, and nothing from other bytes", () => {
    // SEQUENCE { INTEGER 1, [9] { INTEGER 300 } }
    const der = Buffer.from([0x30, 0x09, 0x02, 0x01, 0x01, 0xa9, 0x04, 0x02, 0x02, 0x01, 0x2c])
    expect(Sessions.lifetimeHintSeconds(der)).toBe(300)
    expect(Sessions.lifetimeHintSeconds(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]))).toBeUndefined()
    expect(Sessions.lifetimeHintSeconds(Buffer.from([0x04, 0x00]))).toBeUndefined()
    expect(Sessions.lifetimeHintSeconds(Buffer.from([0x30, 0x85, 0xff]))).toBeUndefined()
    expect(Sessions.lifetimeHintSeconds(Buffer.alloc(0))).toBeUndefined()
  })

  it("P3: STPP_TLS_SESSION_CACHE is a whole number from 0 to 100000, default 100", () => {
    expect(Effect.runSync(ConnectionConfig.make({})).tlsSessionCache).toBe(100)
    expect(Effect.runSync(ConnectionConfig.make({ tlsSessionCache: 0 })).tlsSessionCache).toBe(0)
    for (const bad of ["-1", "100001", "many"]) {
      const exit = Effect.runSyncExit(ConnectionConfig.make({ tlsSessionCache: bad }))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(failureOf(exit))).toContain("STPP_TLS_SESSION_CACHE")
    }
  })
})
