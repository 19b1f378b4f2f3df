/**
 * The error families: each error carries its TypeId, the guards go by TypeId and `_tag` (not by
 * class identity), wrapping errors carry the typed error that caused them, absence is `undefined`.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ConnectionError from "../src/ConnectionError.js"
import * as Redact from "../src/Redact.js"
import * as ResolverError from "../src/ResolverError.js"
import * as TlsConnector from "../src/TlsConnector.js"
import * as TlsError from "../src/TlsError.js"

const where = { host: "gateway.stpp.test", address: "127.0.0.9", port: 443 }

describe("TlsError", () => {
  it("S4: refusals and retryable failures are told apart by tag; lookalikes without the TypeId are not errors", () => {
    const expired = new TlsError.CertificateExpired({ ...where, subject: "CN=x", notAfter: new Date(0), depth: 0 })
    const timeout = new TlsError.HandshakeTimeout({ ...where, timeoutMillis: 5000 })
    expect(TlsError.isTlsError(expired)).toBe(true)
    expect(TlsError.isVerificationError(expired)).toBe(true)
    expect(TlsError.isRetryable(expired)).toBe(false)
    expect(TlsError.isRetryable(timeout)).toBe(true)
    expect(TlsError.isVerificationError(timeout)).toBe(false)
    expect(TlsError.isTlsConnectError(timeout)).toBe(true)
    const lookalike = { _tag: "CertificateExpired", ...where }
    expect(TlsError.isTlsError(lookalike)).toBe(false)
    expect(TlsError.isVerificationError(lookalike)).toBe(false)
    expect(TlsError.isTlsError(new TlsError.TrustStoreError({ path: "/x.pem", reason: "not-found" }))).toBe(true)
  })

  it("S4: the two connect time-outs name their phase", () => {
    expect(new TlsError.ConnectTimeout({ ...where, timeoutMillis: 5000 }).phase).toBe("tcp")
    expect(new TlsError.HandshakeTimeout({ ...where, timeoutMillis: 5000 }).phase).toBe("handshake")
  })

  it("S4: the errors are the same classes through TlsConnector (kept for existing imports)", () => {
    expect(TlsConnector.CertificateExpired).toBe(TlsError.CertificateExpired)
    expect(TlsConnector.isRetryable).toBe(TlsError.isRetryable)
  })
})

describe("ResolverError", () => {
  it("D3: DNS errors are known by TypeId and are retryable", () => {
    const unavailable = new ResolverError.DnsUnavailable({ host: "h", failures: [] })
    const notFound = new ResolverError.DnsNotFound({
      host: "h",
      reason: "cname-loop",
      recordType: "A/AAAA",
      nameserver: "192.0.2.1:53"
    })
    expect(ResolverError.isDnsError(unavailable)).toBe(true)
    expect(ResolverError.isRetryable(notFound)).toBe(true)
    expect(ResolverError.isDnsError({ _tag: "DnsUnavailable", host: "h", failures: [] })).toBe(false)
    // a CNAME loop is its own reason, naming the server that answered last, not a placeholder
    expect(notFound.message).toContain("CNAME chain loops")
    expect(notFound.message).toContain("192.0.2.1:53")
  })
})

describe("ConnectionError", () => {
  it.effect("R3: NotSent carries the last attempt's typed error; callers catchTag through cause", () =>
    Effect.gen(function*() {
      const cause = new TlsError.ConnectRefused(where)
      const notSent = new ConnectionError.NotSent({
        host: where.host,
        attempts: 3,
        elapsedMillis: 10,
        cause,
        address: where.address,
        reference: undefined
      })
      expect(ConnectionError.isRequestError(notSent)).toBe(true)
      expect(notSent.cause).toBe(cause)
      // the deprecated string views still read the same
      expect(notSent.lastError).toBe("ConnectRefused")
      expect(notSent.lastMessage).toBe(cause.message)
      expect(notSent.message).toContain("safe to try again later")
      const tag = yield* Effect.fail(notSent.cause).pipe(
        Effect.catchTag("ConnectRefused", (e) => Effect.succeed(e.address))
      )
      expect(tag).toBe(where.address)
    }))

  it("S4: Refused carries the verification error; its message never loses the reason", () => {
    const cause = new TlsError.HostnameMismatch({ ...where, names: ["DNS:other.example"] })
    const refused = new ConnectionError.Refused({
      host: where.host,
      address: where.address,
      cause,
      attempts: 1,
      reference: "A1"
    })
    expect(refused.cause).toBe(cause)
    expect(refused.reason).toBe("HostnameMismatch")
    expect(refused.detail).toBe(Redact.string(cause.message))
    expect(refused.message).toContain("other.example")
    expect(ConnectionError.isRequestError(refused)).toBe(true)
  })

  it("R3: ConnectionClosed names why without a placeholder for a missing address", () => {
    const closed = new ConnectionError.ConnectionClosed({ reason: "shut-down", address: undefined })
    expect(closed.message).toBe("the connection service was shut down (its layer closed)")
    expect(ConnectionError.isConnectionError(closed)).toBe(true)
    expect(ConnectionError.isRequestError(closed)).toBe(false)
    expect(ConnectionError.isRequestError({ _tag: "NotSent" })).toBe(false)
  })
})
