/**
 * E2: the errors the library builds from outside text are safe as built, with no logger or tracer
 * wrapped around them: a certificate whose names hold a card number and a password (real TLS on
 * loopback), and a caller's reference holding a card number.
 */
import { describe, expect, it } from "@effect/vitest"
import { DnsServer, TestCa } from "@stpp/simulator"
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Tls from "node:tls"
import * as ConnectionService from "../src/ConnectionService.js"

const VISA = "4111111111111111"
const PASSWORD = "cert-Pa55word-91"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "stpp-redaction-source-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const tlsServer = (options: Tls.TlsOptions, address: string) =>
  Effect.acquireRelease(
    Effect.async<{ server: Tls.Server; port: number }>((resume) => {
      const server = Tls.createServer(options, (socket) => socket.end())
      server.on("tlsClientError", () => undefined)
      server.listen(0, address, () =>
        resume(Effect.succeed({ server, port: (server.address() as Net.AddressInfo).port })))
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() =>
          resume(Effect.void)
        )
      })
  )

/** A port that was free a moment ago on `address`: nothing listens there. */
const freePort = (address: string) =>
  Effect.async<number>((resume) => {
    const server = Net.createServer()
    server.listen(0, address, () => {
      const port = (server.address() as Net.AddressInfo).port
      server.close(() => resume(Effect.succeed(port)))
    })
  })

/** Fields, message and stack of what the request failed with, and the tag of its cause. */
const failure = (request: Effect.Effect<unknown, unknown, ConnectionService.ConnectionService>) =>
  Effect.flip(request).pipe(Effect.map((e) => {
    const error = e as Error & { readonly _tag: string; readonly cause?: Error & { readonly _tag?: string } }
    const cause = error.cause
    return {
      tag: error._tag,
      causeTag: cause?._tag,
      // the error's and its cause's own fields (the served chain among them), messages and stacks
      text: JSON.stringify({
        ...error,
        message: error.message,
        stack: error.stack,
        cause: cause === undefined ? undefined : { ...cause, message: cause.message, stack: cause.stack }
      })
    }
  }))

const layerFor = (url: string, nameserver: string, caFile: string) =>
  ConnectionService.layerWith({
    url,
    nameservers: [nameserver],
    caFiles: [caFile],
    trustStore: "only",
    dnsDiscovery: false,
    maxRetries: 0,
    connectTimeout: "2s",
    retryTimeout: "3s"
  })

describe("errors built from outside text are safe as built (E2)", () => {
  it.scopedLive(
    "a certificate whose subject and names hold a card number and a password",
    () =>
      Effect.gen(function*() {
        const host = "gw.cert-names.test"
        const dir = yield* tempDir
        const ca = yield* TestCa.make({ now: new Date() })
        const caFile = Path.join(dir, "ca.pem")
        Fs.writeFileSync(caFile, ca.root.cert)
        // self-signed, its subject holding the secrets
        const key = Path.join(dir, "key.pem")
        const cert = Path.join(dir, "cert.pem")
        ChildProcess.execFileSync("openssl", [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-days",
          "30",
          "-keyout",
          key,
          "-out",
          cert,
          "-subj",
          `/CN=${VISA}/O=password=${PASSWORD}`,
          "-addext",
          `subjectAltName=DNS:${host}`
        ], { stdio: "ignore" })
        const selfSigned = yield* tlsServer({ key: Fs.readFileSync(key), cert: Fs.readFileSync(cert) }, "127.0.0.98")
        // issued by the trusted CA, but for names other than the host, one of them a card number
        const leaf = yield* ca.issue({ hostnames: [`${VISA}.elsewhere.test`] })
        const mismatch = yield* tlsServer({ key: leaf.key, cert: leaf.chain }, "127.0.0.99")
        const dns = yield* DnsServer.make({
          records: [
            { name: host, type: "A", value: "127.0.0.98", ttl: 1 },
            { name: `other.${host}`, type: "A", value: "127.0.0.99", ttl: 1 }
          ]
        })
        const request = Effect.flatMap(ConnectionService.ConnectionService, (s) => s.request({ body: "{}" }))

        const first = yield* failure(request).pipe(
          Effect.provide(layerFor(`https://${host}:${selfSigned.port}/json/`, dns.nameserver, caFile))
        )
        expect(first.tag).toBe("Refused")
        expect(first.causeTag).toBe("SelfSignedCertificate")
        expect(first.text).toContain("411111******1111")
        expect(first.text).not.toContain(VISA)
        expect(first.text).not.toContain(PASSWORD)

        const second = yield* failure(request).pipe(
          Effect.provide(layerFor(`https://other.${host}:${mismatch.port}/json/`, dns.nameserver, caFile))
        )
        expect(second.tag).toBe("Refused")
        expect(second.causeTag).toBe("HostnameMismatch")
        expect(second.text).toContain("411111******1111")
        expect(second.text).not.toContain(VISA)
      }),
    { timeout: 30_000 }
  )

  it.scopedLive("a caller's reference holding a card number is masked in the error", () =>
    Effect.gen(function*() {
      const host = "gw.nobody-home.test"
      const dir = yield* tempDir
      const ca = yield* TestCa.make({ now: new Date() })
      const caFile = Path.join(dir, "ca.pem")
      Fs.writeFileSync(caFile, ca.root.cert)
      const port = yield* freePort("127.0.0.98")
      const dns = yield* DnsServer.make({ records: [{ name: host, type: "A", value: "127.0.0.98", ttl: 1 }] })
      const result = yield* failure(
        Effect.flatMap(
          ConnectionService.ConnectionService,
          (s) => s.request({ body: "{}", reference: `order ${VISA}` })
        )
      ).pipe(Effect.provide(layerFor(`https://${host}:${port}/json/`, dns.nameserver, caFile)))
      expect(result.tag).toBe("NotSent")
      expect(result.text).toContain("order 411111******1111")
      expect(result.text).not.toContain(VISA)
    }), { timeout: 30_000 })
})
