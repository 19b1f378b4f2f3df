import { describe, expect, it } from "@effect/vitest"
import * as DnsPacket from "dns-packet"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Dgram from "node:dgram"
import * as Net from "node:net"
import * as DnsServer from "../src/DnsServer.js"

type Reply = { readonly rcode: string; readonly packet: DnsPacket.DecodedPacket }

/** Sends one query over UDP and waits at most `waitMs` for the reply (`undefined`: none came). */
const askUdp = (server: DnsServer.DnsServer, name: string, type: DnsPacket.RecordType, waitMs = 500) =>
  Effect.async<Reply | "garbage" | undefined>((resume) => {
    const socket = Dgram.createSocket("udp4")
    const timer = setTimeout(() => done(undefined), waitMs)
    const done = (r: Reply | "garbage" | undefined) => {
      clearTimeout(timer)
      socket.close()
      resume(Effect.succeed(r))
    }
    socket.on("message", (message) => {
      try {
        const packet = DnsPacket.decode(message)
        done({ rcode: (packet as DnsPacket.DecodedPacket & { rcode: string }).rcode, packet })
      } catch {
        done("garbage")
      }
    })
    socket.send(DnsPacket.encode({ type: "query", id: 7, questions: [{ name, type }] }), server.port, server.address)
  })

const askTcp = (server: DnsServer.DnsServer, name: string, type: DnsPacket.RecordType) =>
  Effect.async<Reply>((resume) => {
    const socket = Net.createConnection({ host: server.address, port: server.port })
    let buffered = Buffer.alloc(0)
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const packet = DnsPacket.decode(buffered.subarray(2, 2 + buffered.readUInt16BE(0)))
        socket.destroy()
        resume(Effect.succeed({ rcode: (packet as DnsPacket.DecodedPacket & { rcode: string }).rcode, packet }))
      }
    })
    socket.write(DnsPacket.streamEncode({ type: "query", id: 9, questions: [{ name, type }] }))
  })

const data = (reply: Reply | "garbage" | undefined): ReadonlyArray<string> =>
  typeof reply === "object" ? (reply.packet.answers ?? []).map((a) => ("data" in a ? String(a.data) : "")) : []

const ttls = (reply: Reply | "garbage" | undefined): ReadonlyArray<number> =>
  typeof reply === "object" ? (reply.packet.answers ?? []).map((a) => ("ttl" in a ? a.ttl ?? -1 : -1)) : []

describe("DnsServer", () => {
  it.scoped("D1: serves A records with their TTL, and a change made while running is served at once", () =>
    Effect.gen(function*() {
      const server = yield* DnsServer.make({
        address: "127.0.0.1",
        records: [{ name: "gw.example.test", type: "A", value: "127.0.0.10", ttl: 2 }]
      })
      expect(server.port).toBeGreaterThan(1024)
      const first = yield* askUdp(server, "gw.example.test", "A")
      expect(data(first)).toEqual(["127.0.0.10"])
      expect(ttls(first)).toEqual([2])
      expect(typeof first === "object" && first.packet.flag_aa).toBe(true)

      yield* server.setRecord("gw.example.test", "A", "127.0.0.11", 1)
      const second = yield* askUdp(server, "GW.example.test.", "A")
      expect(data(second)).toEqual(["127.0.0.11"])
      expect(ttls(second)).toEqual([1])
      yield* server.setTtl("gw.example.test", "A", 5)
      expect(ttls(yield* askUdp(server, "gw.example.test", "A"))).toEqual([5])
    }))

  it.scoped("D1: unknown names are NXDOMAIN, known names without the type are an empty answer", () =>
    Effect.gen(function*() {
      const server = yield* DnsServer.make({
        records: [{ name: "gw.example.test", type: "A", value: "127.0.0.10", ttl: 2 }]
      })
      const missing = yield* askUdp(server, "nope.example.test", "A")
      expect(typeof missing === "object" && missing.rcode).toBe("NXDOMAIN")
      const aaaa = yield* askUdp(server, "gw.example.test", "AAAA")
      expect(typeof aaaa === "object" && aaaa.rcode).toBe("NOERROR")
      expect(data(aaaa)).toEqual([])
      yield* server.setRecord("gw.example.test", "AAAA", "::1", 3)
      expect(data(yield* askUdp(server, "gw.example.test", "AAAA"))).toEqual(["::1"])
      yield* server.removeName("gw.example.test")
      const removed = yield* askUdp(server, "gw.example.test", "A")
      expect(typeof removed === "object" && removed.rcode).toBe("NXDOMAIN")
    }))

  it.scoped("D4: NS records come with their servers' addresses as glue", () =>
    Effect.gen(function*() {
      const server = yield* DnsServer.make({
        records: [
          { name: "example.test", type: "NS", value: "ns1.example.test", ttl: 30 },
          { name: "example.test", type: "NS", value: "ns2.example.test", ttl: 30 },
          { name: "ns1.example.test", type: "A", value: "127.0.0.2", ttl: 30 },
          { name: "ns2.example.test", type: "A", value: "127.0.0.3", ttl: 30 }
        ]
      })
      const reply = yield* askUdp(server, "example.test", "NS")
      expect(data(reply)).toEqual(["ns1.example.test", "ns2.example.test"])
      const glue = typeof reply === "object"
        ? (reply.packet.additionals ?? []).map((a) => `${a.name} ${"data" in a ? String(a.data) : ""}`)
        : []
      expect(glue).toEqual(["ns1.example.test 127.0.0.2", "ns2.example.test 127.0.0.3"])
    }))

  it.scoped("D3: modes: swallow sends nothing, refused/servfail send the code, malformed sends garbage", () =>
    Effect.gen(function*() {
      const server = yield* DnsServer.make({
        records: [{ name: "gw.example.test", type: "A", value: "127.0.0.10", ttl: 2 }],
        mode: "swallow"
      })
      expect(yield* askUdp(server, "gw.example.test", "A", 300)).toBeUndefined()
      yield* server.setMode("refused")
      const refused = yield* askUdp(server, "gw.example.test", "A")
      expect(typeof refused === "object" && refused.rcode).toBe("REFUSED")
      yield* server.setMode("servfail")
      const servfail = yield* askUdp(server, "gw.example.test", "A")
      expect(typeof servfail === "object" && servfail.rcode).toBe("SERVFAIL")
      yield* server.setMode("malformed")
      expect(yield* askUdp(server, "gw.example.test", "A")).toBe("garbage")
      yield* server.setMode("answer")
      expect(data(yield* askUdp(server, "gw.example.test", "A"))).toEqual(["127.0.0.10"])

      const log = yield* server.queries
      expect(log.map((q) => `${q.mode}:${q.rcode}`)).toEqual([
        "swallow:none",
        "refused:REFUSED",
        "servfail:SERVFAIL",
        "malformed:none",
        "answer:NOERROR"
      ])
      expect(log.every((q) => q.name === "gw.example.test" && q.type === "A" && q.transport === "udp")).toBe(true)
      yield* server.clearQueries
      expect((yield* server.queries).length).toBe(0)
    }))

  it.scoped("D3: answers over TCP, and can truncate UDP answers to force it", () =>
    Effect.gen(function*() {
      const server = yield* DnsServer.make({
        records: [{ name: "gw.example.test", type: "A", value: "127.0.0.10", ttl: 2 }]
      })
      expect(data(yield* askTcp(server, "gw.example.test", "A"))).toEqual(["127.0.0.10"])
      yield* server.setTruncateUdp(true)
      const truncated = yield* askUdp(server, "gw.example.test", "A")
      expect(typeof truncated === "object" && truncated.packet.flag_tc).toBe(true)
      expect(data(truncated)).toEqual([])
      const log = yield* server.queries
      expect(log.map((q) => `${q.transport}:${q.truncated}`)).toEqual(["tcp:false", "udp:true"])
    }))

  it.live("the server is stopped when its scope closes, and only binds loopback", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const server = yield* Scope.extend(DnsServer.make({ address: "127.0.0.2" }), scope)
      const port = server.port
      yield* Scope.close(scope, Exit.void)
      // The same address and port can be bound again at once: both sockets were closed.
      const again = yield* Effect.scoped(
        Effect.map(DnsServer.make({ address: "127.0.0.2", port }), (s) => s.port)
      )
      expect(again).toBe(port)
      const outside = yield* Effect.scoped(Effect.flip(DnsServer.make({ address: "0.0.0.0" })))
      expect(outside._tag).toBe("DnsServerError")
      expect(outside.message).toContain("only loopback")
    }))

  it.scoped("two servers share one port on two loopback addresses", () =>
    Effect.gen(function*() {
      const a = yield* DnsServer.make({ address: "127.0.0.2" })
      const b = yield* DnsServer.make({ address: "127.0.0.3", port: a.port })
      expect(b.port).toBe(a.port)
      expect(b.nameserver).toBe(`127.0.0.3:${a.port}`)
    }))
})
