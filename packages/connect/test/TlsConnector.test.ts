import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Tls from "node:tls"
import * as TestCa from "../../simulator/src/TestCa.js"
import * as ConnectionConfig from "../src/ConnectionConfig.js"
import * as TlsConnector from "../src/TlsConnector.js"

// -----------------------------------------------------------------------------
// fixtures: one CA and its leaves per file, CA files on disk, servers on loopback only
// -----------------------------------------------------------------------------

const HOST = "gateway.test"
const PAYLOAD = "POST /json/ HTTP/1.1\r\nHost: gateway.test\r\nContent-Length: 2\r\n\r\n{}"

const ca = await Effect.runPromise(TestCa.make())
const leaves = await Effect.runPromise(TestCa.leaves(ca, HOST))
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "stpp-tls-"))
const rootFile = Path.join(dir, "root.pem")
Fs.writeFileSync(rootFile, ca.root.cert)

const connector = (options: Partial<TlsConnector.Options> = {}) =>
  TlsConnector.makeWith({ trustStore: "only", caFiles: [rootFile], connectTimeout: "2 seconds", ...options })

interface TestServer {
  readonly address: string
  readonly port: number
  /** Application bytes received after a handshake (TLS) or any bytes (raw TCP). */
  readonly received: () => number
  /** TCP connections accepted. */
  readonly accepted: () => number
  /** Accepted connections that are closed again. */
  readonly closed: () => number
  /** SNI names the server saw. */
  readonly servernames: ReadonlyArray<string>
}

const noop = () => {}

/** A server on a loopback address, stopped (and its connections destroyed) when the scope closes. */
const serve = (
  address: string,
  make: (onSocket: (socket: Net.Socket) => void) => Net.Server,
  tls: boolean
): Effect.Effect<TestServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Net.Server; readonly info: TestServer; readonly sockets: Set<Net.Socket> }>(
      (resume) => {
        let received = 0
        let accepted = 0
        let closed = 0
        const servernames: Array<string> = []
        const sockets = new Set<Net.Socket>()
        const server = make((socket) => {
          socket.on("error", noop)
          socket.on("data", (chunk: Buffer) => {
            received += chunk.length
          })
          if (socket instanceof Tls.TLSSocket && typeof socket.servername === "string") {
            servernames.push(socket.servername)
          }
        })
        server.on("connection", (socket: Net.Socket) => {
          accepted++
          sockets.add(socket)
          socket.on("error", noop)
          socket.on("close", () => {
            closed++
            sockets.delete(socket)
          })
        })
        server.on("tlsClientError", noop)
        server.on("error", noop)
        server.listen(0, address, () => {
          const port = (server.address() as Net.AddressInfo).port
          resume(Effect.succeed({
            server,
            sockets,
            info: {
              address,
              port,
              received: () => received,
              accepted: () => accepted,
              closed: () => closed,
              servernames
            }
          }))
        })
        void tls
      }
    ),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        for (const s of sockets) s.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ info }) => info))

const tlsServer = (address: string, options: Tls.TlsOptions) =>
  serve(address, (onSocket) => Tls.createServer(options, onSocket), true)

const leafServer = (address: string, leaf: TestCa.ServerCertificate, options: Tls.TlsOptions = {}) =>
  tlsServer(address, { key: leaf.key, cert: leaf.chain, ...options })

const rawServer = (address: string, onSocket: (socket: Net.Socket) => void) =>
  serve(address, (onConnect) =>
    Net.createServer((socket) => {
      onConnect(socket)
      onSocket(socket)
    }), false)

const settle = Effect.sleep("50 millis")

/**
 * Connects and, if the connector hands out a connection, writes the payload at once: the server must
 * never see it unless the connection was verified.
 */
const tryToSend = (
  server: TestServer,
  options: Partial<TlsConnector.Options> = {},
  servername: string = HOST
) =>
  Effect.gen(function*() {
    const c = yield* connector(options)
    const exit = yield* c.connect({ address: server.address, port: server.port, servername }).pipe(
      Effect.tap((conn) => Effect.sync(() => conn.socket.write(PAYLOAD))),
      Effect.tap(() => settle),
      Effect.scoped,
      Effect.exit
    )
    yield* settle
    return exit
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a connection")
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (failure === undefined) throw new Error(`expected a typed failure, got ${exit.cause._tag}`)
  return failure
}

/** The checks every security refusal must pass (S4). */
const expectRefusal = (error: TlsConnector.TlsConnectError | TlsConnector.TrustStoreError, server: TestServer) => {
  expect(TlsConnector.isVerificationError(error)).toBe(true)
  expect(TlsConnector.isRetryable(error)).toBe(false)
  expect(server.accepted()).toBe(1)
  expect(server.received()).toBe(0)
}

// -----------------------------------------------------------------------------
// live: real TLS servers on loopback
// -----------------------------------------------------------------------------

describe("TlsConnector live", () => {
  it.live("S1: a good chain connects with TLS 1.3 and SNI; the payload arrives and is counted", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.11", leaves.good)
      const c = yield* connector()
      const conn = yield* c.connect({ address: server.address, port: server.port, servername: HOST })
      expect(conn.protocol).toBe("TLSv1.3")
      expect(conn.cipher).toMatch(/^TLS_/)
      expect(conn.address).toBe("127.0.0.11")
      expect(conn.servername).toBe(HOST)
      expect(conn.bytesWritten()).toBe(0)
      conn.socket.write(PAYLOAD)
      yield* settle
      expect(conn.bytesWritten()).toBe(PAYLOAD.length)
      expect(server.received()).toBe(PAYLOAD.length)
      expect(server.servernames).toEqual([HOST])
      expect(conn.connectMillis).toBeGreaterThanOrEqual(0)
      expect(conn.connectMillis).toBeLessThan(2000)
    }).pipe(Effect.scoped))

  it.live("S1: TLS 1.2 is accepted", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.12", leaves.good, { maxVersion: "TLSv1.2" })
      const c = yield* connector()
      const conn = yield* c.connect({ address: server.address, port: server.port, servername: HOST })
      expect(conn.protocol).toBe("TLSv1.2")
    }).pipe(Effect.scoped))

  it.live("S1: the connection is closed when its scope closes", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.13", leaves.good)
      const c = yield* connector()
      const scope = yield* Scope.make()
      const conn = yield* c.connect({ address: server.address, port: server.port, servername: HOST }).pipe(
        Scope.extend(scope)
      )
      expect(conn.socket.destroyed).toBe(false)
      yield* Scope.close(scope, Exit.void)
      expect(conn.socket.destroyed).toBe(true)
      yield* settle
      expect(server.closed()).toBe(1)
    }).pipe(Effect.scoped))

  it.live("S4: expired certificate is CertificateExpired, not retried", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.21", leaves.expired)
      const error = failureOf(yield* tryToSend(server))
      expect(error._tag).toBe("CertificateExpired")
      expectRefusal(error, server)
      if (error._tag !== "CertificateExpired") return
      expect(error.notAfter.getTime()).toBe(leaves.expired.notAfter.getTime())
      expect(error.depth).toBe(0)
      expect(error.message).toBe(
        `certificate for gateway.test expired on ${
          leaves.expired.notAfter.toISOString().slice(0, 10)
        } (served by 127.0.0.21:${server.port})`
      )
      // the chain as served, read during the refused handshake: the expired leaf first, its root last
      const served = error.served ?? []
      expect(served.length).toBeGreaterThanOrEqual(2)
      expect(served[0].notAfter.getTime()).toBe(leaves.expired.notAfter.getTime())
      expect(served[0].daysLeft).toBeLessThan(0)
      expect(served[0].isCa).toBe(false)
      expect(served.slice(1).every((c) => c.isCa)).toBe(true)
    }).pipe(Effect.scoped))

  it.live("S4: not-yet-valid certificate is CertificateNotYetValid, not retried", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.22", leaves.notYetValid)
      const error = failureOf(yield* tryToSend(server))
      expect(error._tag).toBe("CertificateNotYetValid")
      expectRefusal(error, server)
      expect(error.message).toContain(`is not valid until ${leaves.notYetValid.notBefore.toISOString().slice(0, 10)}`)
    }).pipe(Effect.scoped))

  it.live("S4: certificate from an unknown root is UnknownIssuer (untrusted CA), not retried", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.23", leaves.unknownRoot)
      const error = failureOf(yield* tryToSend(server))
      expect(error._tag).toBe("UnknownIssuer")
      expectRefusal(error, server)
      if (error._tag !== "UnknownIssuer") return
      expect(error.likelyCause).toBe("untrusted-ca")
      expect(error.issuer).toContain("Unknown Authority")
      expect(error.message).toContain("not in the trust store")
    }).pipe(Effect.scoped))

  it.live("S4: a server without its intermediate is UnknownIssuer naming the missing intermediate", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.24", leaves.missingIntermediate)
      const error = failureOf(yield* tryToSend(server))
      expect(error._tag).toBe("UnknownIssuer")
      expectRefusal(error, server)
      if (error._tag !== "UnknownIssuer") return
      expect(error.likelyCause).toBe("missing-intermediate")
      expect(error.issuer).toContain("stpp Test Intermediate CA")
      expect(error.message).toContain("missing its intermediate certificate")
    }).pipe(Effect.scoped))

  it.live("S4: self-signed certificate is SelfSignedCertificate, not retried", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.25", leaves.selfSigned)
      const error = failureOf(yield* tryToSend(server))
      expect(error._tag).toBe("SelfSignedCertificate")
      expectRefusal(error, server)
      expect(error.message).toContain("is self-signed")
    }).pipe(Effect.scoped))

  it.live("S1, S4: certificate for another name is HostnameMismatch, not retried", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.26", leaves.wrongName)
      const error = failureOf(yield* tryToSend(server))
      expect(error._tag).toBe("HostnameMismatch")
      expectRefusal(error, server)
      expect(error.message).toBe(
        `certificate served by 127.0.0.26:${server.port} is not for gateway.test: it names DNS:wrong-name.invalid`
      )
    }).pipe(Effect.scoped))

  it.live("S1: the certificate is checked against the host name even when it names the IP", () =>
    Effect.gen(function*() {
      const byIp = yield* Effect.orDie(ca.issue({ hostnames: ["other.test"], ips: ["127.0.0.27"] }))
      const server = yield* leafServer("127.0.0.27", byIp)
      const error = failureOf(yield* tryToSend(server))
      expect(error._tag).toBe("HostnameMismatch")
      expectRefusal(error, server)
    }).pipe(Effect.scoped))

  it.live("S1: an IP address as the server name is refused before connecting (no SNI possible)", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.28", leaves.good)
      const error = failureOf(yield* tryToSend(server, {}, "127.0.0.28"))
      expect(error._tag).toBe("ServernameRequired")
      expect(TlsConnector.isRetryable(error)).toBe(false)
      expect(server.accepted()).toBe(0)
    }).pipe(Effect.scoped))

  it.live("S1, S4: a TLS 1.0-only server is ProtocolRefused (protocol-version), not retried", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.31", leaves.good, {
        minVersion: "TLSv1",
        maxVersion: "TLSv1",
        ciphers: "DEFAULT@SECLEVEL=0"
      })
      const error = failureOf(yield* tryToSend(server))
      expect(error._tag).toBe("ProtocolRefused")
      expectRefusal(error, server)
      if (error._tag !== "ProtocolRefused") return
      expect(error.reason).toBe("protocol-version")
      expect(error.message).toContain("older than 1.2")
    }).pipe(Effect.scoped))

  it.live("S1, S4: a TLS 1.1-only server is ProtocolRefused (protocol-version)", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.32", leaves.good, {
        minVersion: "TLSv1.1",
        maxVersion: "TLSv1.1",
        ciphers: "DEFAULT@SECLEVEL=0"
      })
      const error = failureOf(yield* tryToSend(server))
      expect(error._tag).toBe("ProtocolRefused")
      expectRefusal(error, server)
    }).pipe(Effect.scoped))

  it.live("S1, S4: a server with only weak (NULL) cipher suites is ProtocolRefused (cipher)", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.33", leaves.good, {
        maxVersion: "TLSv1.2",
        ciphers: "ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0"
      })
      const error = failureOf(yield* tryToSend(server))
      expect(error._tag).toBe("ProtocolRefused")
      expectRefusal(error, server)
      if (error._tag !== "ProtocolRefused") return
      expect(error.reason).toBe("cipher")
    }).pipe(Effect.scoped))

  it.live("S4: a server that does not speak TLS is ProtocolRefused (not-tls)", () =>
    Effect.gen(function*() {
      const server = yield* rawServer("127.0.0.34", (s) => s.end("HTTP/1.1 400 Bad Request\r\n\r\n"))
      const error = failureOf(yield* tryToSend(server))
      expect(error._tag).toBe("ProtocolRefused")
      if (error._tag !== "ProtocolRefused") return
      expect(error.reason).toBe("not-tls")
      expect(TlsConnector.isRetryable(error)).toBe(false)
    }).pipe(Effect.scoped))

  it.live("S4, R1: a server that accepts TCP and never speaks is HandshakeTimeout at connectTimeout, retryable", () =>
    Effect.gen(function*() {
      const server = yield* rawServer("127.0.0.41", noop)
      const started = Date.now()
      const error = failureOf(yield* tryToSend(server, { connectTimeout: "300 millis" }))
      const took = Date.now() - started
      expect(error._tag).toBe("HandshakeTimeout")
      expect(TlsConnector.isRetryable(error)).toBe(true)
      expect(TlsConnector.isVerificationError(error)).toBe(false)
      expect(error.message).toBe(
        `TLS handshake with gateway.test (127.0.0.41:${server.port}) did not finish within 300 ms`
      )
      expect(took).toBeGreaterThanOrEqual(300)
      expect(took).toBeLessThan(1500)
      // the stalled attempt's socket was destroyed, not left open
      expect(server.accepted()).toBe(1)
      expect(server.closed()).toBe(1)
      // the ClientHello is all the server got: no payload
      expect(server.received()).toBeLessThan(PAYLOAD.length + 600)
    }).pipe(Effect.scoped))

  it.scoped("S4, R1: under TestClock the live connector's handshake time-out is the clock's: HandshakeTimeout exactly at connectTimeout", () =>
    Effect.gen(function*() {
      const server = yield* rawServer("127.0.0.44", noop)
      const c = yield* connector({ connectTimeout: "5 seconds" })
      const fiber = yield* Effect.fork(
        Effect.scoped(c.connect({ address: server.address, port: server.port, servername: HOST }))
      )
      // real time for the TCP connect to be accepted (TestClock does not move by itself)
      const wall = (millis: number) => Effect.promise(() => new Promise((r) => setTimeout(r, millis)))
      for (let i = 0; i < 100 && server.accepted() === 0; i++) yield* wall(10)
      expect(server.accepted()).toBe(1)
      yield* wall(100)
      yield* TestClock.adjust(Duration.millis(4999))
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.millis(1))
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error._tag).toBe("HandshakeTimeout")
      // the stalled attempt's socket was destroyed
      for (let i = 0; i < 100 && server.closed() === 0; i++) yield* wall(10)
      expect(server.closed()).toBe(1)
      expect(server.received()).toBeLessThan(PAYLOAD.length + 600)
    }))

  it.live("S4: a closed port is ConnectRefused, retryable", () =>
    Effect.gen(function*() {
      const port = yield* Effect.async<number>((resume) => {
        const s = Net.createServer()
        s.listen(0, "127.0.0.42", () => {
          const p = (s.address() as Net.AddressInfo).port
          s.close(() => resume(Effect.succeed(p)))
        })
      })
      const c = yield* connector()
      const error = failureOf(
        yield* Effect.exit(Effect.scoped(c.connect({ address: "127.0.0.42", port, servername: HOST })))
      )
      expect(error._tag).toBe("ConnectRefused")
      expect(TlsConnector.isRetryable(error)).toBe(true)
      expect(error.message).toBe(`connection to gateway.test (127.0.0.42:${port}) was refused`)
    }))

  it.live("S4: a port out of range is ConnectFailed, not a defect", () =>
    Effect.gen(function*() {
      const c = yield* connector()
      const error = failureOf(
        yield* Effect.exit(Effect.scoped(c.connect({ address: "127.0.0.46", port: 70000, servername: HOST })))
      )
      expect(error._tag).toBe("ConnectFailed")
    }))

  it.live("S4: a reset right after accept is ConnectReset, retryable", () =>
    Effect.gen(function*() {
      const server = yield* rawServer("127.0.0.43", (s) => s.resetAndDestroy())
      const error = failureOf(yield* tryToSend(server))
      expect(error._tag).toBe("ConnectReset")
      expect(TlsConnector.isRetryable(error)).toBe(true)
      expect(server.received()).toBe(0)
    }).pipe(Effect.scoped))

  it.live("S4: a reset during the handshake is ConnectReset (handshake phase), retryable", () =>
    Effect.gen(function*() {
      const server = yield* rawServer("127.0.0.45", (s) => s.once("data", () => s.resetAndDestroy()))
      const error = failureOf(yield* tryToSend(server))
      expect(error._tag).toBe("ConnectReset")
      expect(TlsConnector.isRetryable(error)).toBe(true)
      if (error._tag !== "ConnectReset") return
      expect(error.phase).toBe("handshake")
      expect(error.message).toContain("during the TLS handshake")
    }).pipe(Effect.scoped))

  it.live("S4: a server that closes during the handshake is ConnectReset, retryable", () =>
    Effect.gen(function*() {
      const server = yield* rawServer("127.0.0.44", (s) => s.once("data", () => s.end()))
      const error = failureOf(yield* tryToSend(server))
      expect(error._tag).toBe("ConnectReset")
      expect(TlsConnector.isRetryable(error)).toBe(true)
    }).pipe(Effect.scoped))

  it.live("S2: a rotated leaf (new key, same CA) works with the same connector, no change", () =>
    Effect.gen(function*() {
      const c = yield* connector()
      const before = yield* Effect.scoped(Effect.gen(function*() {
        const server = yield* leafServer("127.0.0.51", leaves.good)
        const report = yield* c.trustReport({ address: server.address, port: server.port, servername: HOST })
        return report.chain[0].fingerprint256
      }))
      const after = yield* Effect.scoped(Effect.gen(function*() {
        const server = yield* leafServer("127.0.0.51", leaves.rotated)
        const report = yield* c.trustReport({ address: server.address, port: server.port, servername: HOST })
        return report.chain[0].fingerprint256
      }))
      expect(before).toBe(leaves.good.fingerprint256)
      expect(after).toBe(leaves.rotated.fingerprint256)
    }))

  it.live("S2: two addresses with two different leaves both work with the same connector", () =>
    Effect.gen(function*() {
      const c = yield* connector()
      const a = yield* leafServer("127.0.0.52", leaves.good)
      const b = yield* leafServer("127.0.0.53", leaves.other)
      const ca1 = yield* c.connect({ address: a.address, port: a.port, servername: HOST })
      const cb = yield* c.connect({ address: b.address, port: b.port, servername: HOST })
      ca1.socket.write("a")
      cb.socket.write("bb")
      yield* settle
      expect([a.received(), b.received()]).toEqual([1, 2])
    }).pipe(Effect.scoped))

  it.live("S2: trustStore node does not trust the test CA; node plus the CA file does", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.54", leaves.good)
      const bare = failureOf(yield* tryToSend(server, { trustStore: "node", caFiles: [] }))
      expect(bare._tag).toBe("UnknownIssuer")
      expect(server.received()).toBe(0)
      const withFile = yield* tryToSend(server, { trustStore: "node", caFiles: [rootFile] })
      expect(Exit.isSuccess(withFile)).toBe(true)
      expect(server.received()).toBe(PAYLOAD.length)
    }).pipe(Effect.scoped))

  it.live("S2: trustStore system plus the CA file trusts the test CA", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.55", leaves.good)
      const exit = yield* tryToSend(server, { trustStore: "system", caFiles: [rootFile] })
      expect(Exit.isSuccess(exit)).toBe(true)
    }).pipe(Effect.scoped))

  it.live("S2: a missing, empty or non-CA STPP_CA_FILE is a TrustStoreError at start", () =>
    Effect.gen(function*() {
      const empty = Path.join(dir, "empty.pem")
      Fs.writeFileSync(empty, "no certificates here\n")
      const leafFile = Path.join(dir, "leaf.pem")
      Fs.writeFileSync(leafFile, leaves.good.cert)
      const missing = Path.join(dir, "missing.pem")
      const reasons = yield* Effect.forEach([missing, empty, leafFile], (file) =>
        Effect.flip(connector({ caFiles: [file] })))
      expect(reasons.map((e) =>
        e.reason
      )).toEqual(["not-found", "no-certificate", "not-a-ca"])
      expect(reasons[0].message).toBe(`STPP_CA_FILE: ${missing} does not exist`)
      expect(reasons[1].message).toContain("holds no PEM certificate")
    }))

  it.live("S2, C3: layer reads the trust store and time-out from ConnectionConfig", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.56", leaves.good)
      const c = yield* TlsConnector.TlsConnector
      const conn = yield* c.connect({ address: server.address, port: server.port, servername: HOST })
      expect(conn.protocol).toBe("TLSv1.3")
    }).pipe(
      Effect.scoped,
      Effect.provide(TlsConnector.layer.pipe(
        Layer.provide(ConnectionConfig.layer({ trustStore: "only", caFiles: [rootFile] }))
      ))
    ))

  it.live("S2: the layer fails at build with a TrustStoreError for a missing CA file", () =>
    Effect.gen(function*() {
      const missing = Path.join(dir, "nope.pem")
      const error = yield* Effect.flip(
        Layer.build(TlsConnector.layer.pipe(
          Layer.provide(ConnectionConfig.layer({ trustStore: "only", caFiles: [missing] }))
        )).pipe(Effect.scoped)
      )
      expect(error._tag).toBe("TrustStoreError")
    }))

  it.live("S3: trustReport lists the served chain, the trusted anchor, the CA files and no warnings when fresh", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.61", leaves.good)
      const c = yield* connector()
      const report = yield* c.trustReport({ address: server.address, port: server.port, servername: HOST })
      expect(report.host).toBe(HOST)
      expect(report.protocol).toBe("TLSv1.3")
      expect(report.chain.map((x) => x.subject)).toEqual([
        "CN=gateway.test, O=stpp-connect tests",
        "CN=stpp Test Intermediate CA, O=stpp-connect tests",
        "CN=stpp Test Root CA, O=stpp-connect tests"
      ])
      expect(report.chain[0].fingerprint256).toBe(leaves.good.fingerprint256)
      expect(report.chain[0].notAfter.getTime()).toBe(leaves.good.notAfter.getTime())
      expect(report.chain[0].daysLeft).toBeGreaterThanOrEqual(88)
      expect(report.chain[0].issuer).toBe("CN=stpp Test Intermediate CA, O=stpp-connect tests")
      expect(report.anchor?.fingerprint256).toBe(ca.root.fingerprint256)
      expect(report.anchor?.inTrustStore).toBe(true)
      expect(report.trustStore.kind).toBe("only")
      expect(report.trustStore.caFiles.map((f) => f.path)).toEqual([rootFile])
      expect(report.trustStore.caFiles[0].certificates[0].daysLeft).toBeGreaterThan(3000)
      expect(report.warnings).toEqual([])
      expect(server.received()).toBe(0)
    }).pipe(Effect.scoped))

  it.live("S3: trustReport warns about a certificate expiring within 30 days", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.62", leaves.expiringSoon)
      const c = yield* connector()
      const report = yield* c.trustReport({ address: server.address, port: server.port, servername: HOST })
      expect(report.warnings.length).toBe(1)
      const w = report.warnings[0]
      expect(w.where).toBe("served-chain")
      expect(w.daysLeft).toBeGreaterThanOrEqual(9)
      expect(w.daysLeft).toBeLessThanOrEqual(10)
      expect(w.message).toMatch(/^certificate for gateway\.test expires on \d{4}-\d\d-\d\d, in (9|10) days$/)
    }).pipe(Effect.scoped))

  it.live("S3, S4: trustReport of a bad server fails with the same typed error", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.63", leaves.expired)
      const c = yield* connector()
      const error = yield* Effect.flip(c.trustReport({ address: server.address, port: server.port, servername: HOST }))
      expect(error._tag).toBe("CertificateExpired")
    }).pipe(Effect.scoped))

  it.live("measure: loopback handshake time (TCP + TLS 1.3 + verification)", () =>
    Effect.gen(function*() {
      const server = yield* leafServer("127.0.0.71", leaves.good)
      const c = yield* connector()
      const times: Array<number> = []
      for (let i = 0; i < 20; i++) {
        const started = process.hrtime.bigint()
        yield* Effect.scoped(c.connect({ address: server.address, port: server.port, servername: HOST }))
        times.push(Number(process.hrtime.bigint() - started) / 1e6)
      }
      times.sort((a, b) => a - b)
      console.log(
        `loopback connect (TCP + TLS 1.3 handshake + verify), 20 runs: median ${times[10].toFixed(2)} ms, min ${
          times[0].toFixed(2)
        } ms, max ${times[19].toFixed(2)} ms`
      )
      expect(times[10]).toBeLessThan(500)
    }).pipe(Effect.scoped))
})

// -----------------------------------------------------------------------------
// layerTest under TestClock
// -----------------------------------------------------------------------------

const testLayer = TlsConnector.layerTest.pipe(Layer.provide(ConnectionConfig.layer({ connectTimeout: "5 seconds" })))
const target = { address: "10.0.0.1", port: 443, servername: HOST }

describe("TlsConnector.layerTest", () => {
  it.effect("R1, S4: stall is HandshakeTimeout exactly at connectTimeout (TestClock)", () =>
    Effect.gen(function*() {
      const test = yield* TlsConnector.TestTlsConnector
      const c = yield* TlsConnector.TlsConnector
      yield* test.script(target.address, "stall")
      const fiber = yield* Effect.fork(Effect.scoped(c.connect(target)))
      yield* TestClock.adjust(Duration.millis(4999))
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.millis(1))
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error._tag).toBe("HandshakeTimeout")
      expect(TlsConnector.isRetryable(error)).toBe(true)
    }).pipe(Effect.provide(testLayer)))

  it.effect("R1, S4: stall-tcp is ConnectTimeout at connectTimeout", () =>
    Effect.gen(function*() {
      const test = yield* TlsConnector.TestTlsConnector
      const c = yield* TlsConnector.TlsConnector
      yield* test.script(target.address, "stall-tcp")
      const fiber = yield* Effect.fork(Effect.scoped(c.connect(target)))
      yield* TestClock.adjust("5 seconds")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error._tag).toBe("ConnectTimeout")
    }).pipe(Effect.provide(testLayer)))

  it.effect("R1: a slow accept inside the time-out succeeds and reports its connect time", () =>
    Effect.gen(function*() {
      const test = yield* TlsConnector.TestTlsConnector
      const c = yield* TlsConnector.TlsConnector
      yield* test.script(target.address, { _tag: "accept", delay: "4 seconds" }, { _tag: "accept", delay: "6 seconds" })
      const first = yield* Effect.fork(Effect.scoped(c.connect(target)))
      yield* TestClock.adjust("4 seconds")
      const conn = yield* Fiber.join(first)
      expect(conn.connectMillis).toBe(4000)
      const second = yield* Effect.fork(Effect.scoped(c.connect(target)))
      yield* TestClock.adjust("5 seconds")
      expect((yield* Effect.flip(Fiber.join(second)))._tag).toBe("HandshakeTimeout")
    }).pipe(Effect.provide(testLayer)))

  it.effect("S4: scripted steps answer in order: refuse, reset, a verification failure, accept", () =>
    Effect.gen(function*() {
      const test = yield* TlsConnector.TestTlsConnector
      const c = yield* TlsConnector.TlsConnector
      yield* test.script(
        target.address,
        "refuse",
        "reset",
        {
          _tag: "fail",
          error: (t) =>
            new TlsConnector.CertificateExpired({
              host: t.servername,
              address: t.address,
              port: t.port,
              subject: "CN=gateway.test",
              notAfter: new Date("2026-01-03T00:00:00Z"),
              depth: 0
            })
        },
        "accept"
      )
      const results = yield* Effect.forEach([1, 2, 3, 4], () => Effect.either(Effect.scoped(c.connect(target))))
      const tags = results.map((r) => (r._tag === "Left" ? r.left._tag : "connected"))
      expect(tags).toEqual(["ConnectRefused", "ConnectReset", "CertificateExpired", "connected"])
      const expired = results[2]
      if (expired._tag === "Left") {
        expect(expired.left.message).toBe("certificate for gateway.test expired on 2026-01-03 (served by 10.0.0.1:443)")
        expect(TlsConnector.isVerificationError(expired.left)).toBe(true)
      }
      const calls = yield* test.calls
      expect(calls.map((x) => x.step)).toEqual(["refuse", "reset", "fail", "accept"])
    }).pipe(Effect.provide(testLayer)))

  it.effect("R3: accept gives the test the server side; bytesWritten counts what the client wrote", () =>
    Effect.gen(function*() {
      const test = yield* TlsConnector.TestTlsConnector
      const c = yield* TlsConnector.TlsConnector
      yield* test.script(target.address, {
        _tag: "accept",
        onAccept: (server) => server.socket.once("data", () => server.socket.write("HTTP/1.1 200 OK\r\n\r\n"))
      })
      const conn = yield* c.connect(target)
      const answer = yield* Effect.async<string>((resume) => {
        conn.socket.once("data", (chunk: Buffer) => resume(Effect.succeed(chunk.toString())))
        conn.socket.write(PAYLOAD)
      })
      expect(answer).toBe("HTTP/1.1 200 OK\r\n\r\n")
      expect(conn.bytesWritten()).toBe(PAYLOAD.length)
      const calls = yield* test.calls
      expect(calls[0].server?.received().toString()).toBe(PAYLOAD)
    }).pipe(Effect.scoped, Effect.provide(testLayer)))

  it.effect("R3: the server side destroying the connection resets the client without crashing", () =>
    Effect.gen(function*() {
      const test = yield* TlsConnector.TestTlsConnector
      const c = yield* TlsConnector.TlsConnector
      yield* test.script(target.address, "accept")
      const conn = yield* c.connect(target)
      const closed = Effect.async<void>((resume) => {
        conn.socket.once("close", () => resume(Effect.void))
      })
      const calls = yield* test.calls
      calls[0].server?.socket.destroy()
      yield* closed
      expect(conn.socket.destroyed).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(testLayer)))

  it.effect("C1: an unscripted connect is a defect that names the address", () =>
    Effect.gen(function*() {
      const c = yield* TlsConnector.TlsConnector
      const exit = yield* Effect.exit(Effect.scoped(c.connect(target)))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Die").toBe(true)
      if (Exit.isFailure(exit) && exit.cause._tag === "Die") {
        expect(String(exit.cause.defect)).toContain("unscripted connect to 10.0.0.1:443")
      }
    }).pipe(Effect.provide(testLayer)))

  it.effect("C1: always answers every call once the queue is empty", () =>
    Effect.gen(function*() {
      const test = yield* TlsConnector.TestTlsConnector
      const c = yield* TlsConnector.TlsConnector
      yield* test.script(target.address, "accept")
      yield* test.always(target.address, "refuse")
      const tags = yield* Effect.forEach(
        [1, 2, 3],
        () =>
          Effect.either(Effect.scoped(c.connect(target))).pipe(
            Effect.map((r) => r._tag === "Left" ? r.left._tag : "ok")
          )
      )
      expect(tags).toEqual(["ok", "ConnectRefused", "ConnectRefused"])
    }).pipe(Effect.provide(testLayer)))
})
