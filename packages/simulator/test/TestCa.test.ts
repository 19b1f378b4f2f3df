import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as NodeCrypto from "node:crypto"
import * as Tls from "node:tls"
import * as TestCa from "../src/TestCa.js"

const HOST = "gateway.test"
const DAY = 86_400_000

const x509 = (pem: string) => new NodeCrypto.X509Certificate(pem)
const pemCount = (chain: string) => (chain.match(/BEGIN CERTIFICATE/g) ?? []).length

/** A real handshake on loopback against a server with `leaf`, trusting `ca`; the client's verdict. */
const handshake = (leaf: TestCa.ServerCertificate, ca: string) =>
  Effect.async<string>((resume) => {
    const server = Tls.createServer({ key: leaf.key, cert: leaf.chain }, (s) => s.on("error", () => {}))
    server.on("tlsClientError", () => {})
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port
      const socket = Tls.connect({ host: "127.0.0.1", port, servername: HOST, ca: [ca] })
      const finish = (verdict: string) => {
        socket.destroy()
        server.close()
        resume(Effect.succeed(verdict))
      }
      socket.on("secureConnect", () => finish("ok"))
      socket.on("error", (e: NodeJS.ErrnoException) => finish(e.code ?? "error"))
    })
  })

describe("TestCa", () => {
  it.live("S4: root and intermediate form a CA chain; leaves chain to the root", () =>
    Effect.gen(function*() {
      const ca = yield* TestCa.make()
      const root = x509(ca.root.cert)
      const intermediate = x509(ca.intermediate.cert)
      expect(root.ca).toBe(true)
      expect(intermediate.ca).toBe(true)
      expect(intermediate.checkIssued(root)).toBe(true)
      expect(intermediate.verify(root.publicKey)).toBe(true)
      const leaf = yield* ca.issue({ hostnames: [HOST], ips: ["127.0.0.1"] })
      const cert = x509(leaf.cert)
      expect(cert.ca).toBe(false)
      expect(cert.checkIssued(intermediate)).toBe(true)
      expect(cert.verify(intermediate.publicKey)).toBe(true)
      expect(cert.subjectAltName).toBe("DNS:gateway.test, IP Address:127.0.0.1")
      expect(cert.checkHost(HOST)).toBe(HOST)
      expect(pemCount(leaf.chain)).toBe(2)
      expect(NodeCrypto.createPrivateKey(leaf.key).asymmetricKeyType).toBe("ec")
    }))

  it.live("S4: every kind of leaf is what its name says", () =>
    Effect.gen(function*() {
      const ca = yield* TestCa.make()
      const now = Date.now()
      const l = yield* TestCa.leaves(ca, HOST)
      const intermediate = x509(ca.intermediate.cert)
      expect(l.rotated.fingerprint256).not.toBe(l.good.fingerprint256)
      expect(NodeCrypto.createPublicKey(l.rotated.key).export({ format: "pem", type: "spki" })).not.toBe(
        NodeCrypto.createPublicKey(l.good.key).export({ format: "pem", type: "spki" })
      )
      expect(x509(l.rotated.cert).checkIssued(intermediate)).toBe(true)
      expect(l.expired.notAfter.getTime()).toBeLessThan(now)
      expect(l.notYetValid.notBefore.getTime()).toBeGreaterThan(now)
      expect(l.expiringSoon.notAfter.getTime() - now).toBeLessThan(11 * DAY)
      expect(l.expiringSoon.notAfter.getTime() - now).toBeGreaterThan(9 * DAY)
      expect(x509(l.wrongName.cert).checkHost(HOST)).toBeUndefined()
      expect(l.selfSigned.subject).toBe(l.selfSigned.issuer)
      expect(x509(l.selfSigned.cert).verify(x509(l.selfSigned.cert).publicKey)).toBe(true)
      expect(x509(l.unknownRoot.cert).checkIssued(intermediate)).toBe(false)
      expect(l.unknownRoot.issuer).toContain("Unknown Authority")
      expect(pemCount(l.missingIntermediate.chain)).toBe(1)
      expect(x509(l.missingIntermediate.cert).checkIssued(intermediate)).toBe(true)
    }))

  it.live("S4: a real TLS client sees each leaf as the failure it stands for", () =>
    Effect.gen(function*() {
      const ca = yield* TestCa.make()
      const l = yield* TestCa.leaves(ca, HOST)
      const verdicts: Record<string, string> = {}
      for (const name of Object.keys(l) as Array<keyof TestCa.Leaves>) {
        verdicts[name] = yield* handshake(l[name], ca.root.cert)
      }
      expect(verdicts).toEqual({
        good: "ok",
        rotated: "ok",
        other: "ok",
        expiringSoon: "ok",
        expired: "CERT_HAS_EXPIRED",
        notYetValid: "CERT_NOT_YET_VALID",
        wrongName: "ERR_TLS_CERT_ALTNAME_INVALID",
        selfSigned: "DEPTH_ZERO_SELF_SIGNED_CERT",
        unknownRoot: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
        missingIntermediate: "UNABLE_TO_VERIFY_LEAF_SIGNATURE"
      })
    }))

  it.live("a leaf without any name is refused", () =>
    Effect.gen(function*() {
      const ca = yield* TestCa.make()
      const exit = yield* Effect.exit(ca.issue({ hostnames: [] }))
      expect(Exit.isFailure(exit)).toBe(true)
    }))
})
