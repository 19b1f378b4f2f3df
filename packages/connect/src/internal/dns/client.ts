/**
 * The live transport: one DNS question to one server over UDP (a connected socket of its own, so
 * only that server's replies are read and an ICMP "port unreachable" fails at once), asked again
 * over TCP when the UDP answer is truncated. Messages are encoded and decoded by `dns-packet`.
 * Sockets live in a scope: a time-out or interruption closes them.
 *
 * @internal
 */
import * as DnsPacket from "dns-packet"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Crypto from "node:crypto"
import * as Dgram from "node:dgram"
import * as Net from "node:net"
import type { Question, Response, Server, Transport, WireRecord } from "./transport.js"
import { normalizeName, QueryFailure } from "./transport.js"

const errnoOf = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") {
    return error.code
  }
  return "socket error"
}

const toWire = (records: ReadonlyArray<DnsPacket.Answer> | undefined): ReadonlyArray<WireRecord> =>
  (records ?? []).flatMap((r) =>
    r.type === "OPT" ? [] : [{
      name: normalizeName(r.name),
      type: r.type,
      ttl: r.ttl ?? 0,
      data: typeof r.data === "string" ? r.data : ""
    }]
  )

interface Decoded {
  readonly packet: DnsPacket.DecodedPacket
  readonly rcode: string
}

/** A reply to our query (same id and question), or `undefined` for anything else. */
const decodeReply = (message: Buffer, id: number, question: Question): Decoded | "malformed" | undefined => {
  let packet: DnsPacket.DecodedPacket
  try {
    packet = DnsPacket.decode(message)
  } catch {
    return "malformed"
  }
  if (packet.id !== id || packet.type !== "response") return undefined
  const q = packet.questions?.[0]
  if (q !== undefined && (normalizeName(q.name) !== normalizeName(question.name) || q.type !== question.type)) {
    return undefined
  }
  // dns-packet decodes a short A/AAAA record into a nonsense address ("1.2.undefined.undefined"):
  // an answer holding one is malformed, and the next server is asked.
  for (const r of [...(packet.answers ?? []), ...(packet.additionals ?? [])]) {
    if (r.type === "A" && !(typeof r.data === "string" && Net.isIPv4(r.data))) return "malformed"
    if (r.type === "AAAA" && !(typeof r.data === "string" && Net.isIPv6(r.data))) return "malformed"
  }
  // dns-packet decodes the response code, but its typings do not declare it.
  const rcode = (packet as DnsPacket.DecodedPacket & { readonly rcode?: string }).rcode ?? "NOERROR"
  return { packet, rcode }
}

const toResponse = ({ packet, rcode }: Decoded): Response => ({
  rcode,
  answers: toWire(packet.answers),
  additionals: toWire(packet.additionals)
})

const queryPacket = (id: number, question: Question): DnsPacket.Packet => ({
  type: "query",
  id,
  flags: DnsPacket.RECURSION_DESIRED,
  questions: [{ name: question.name, type: question.type, class: "IN" }]
})

const udpSocket = (server: Server): Effect.Effect<Dgram.Socket, QueryFailure, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<Dgram.Socket, QueryFailure>((resume) => {
      const socket = Dgram.createSocket({ type: Net.isIPv6(server.address) ? "udp6" : "udp4" })
      const onError = (error: unknown) => {
        socket.close()
        resume(Effect.fail(new QueryFailure({ reason: "network", detail: errnoOf(error) })))
      }
      socket.once("error", onError)
      socket.connect(server.port, server.address, () => {
        socket.off("error", onError)
        resume(Effect.succeed(socket))
      })
    }),
    (socket) =>
      Effect.sync(() => {
        socket.removeAllListeners()
        // Late ICMP errors on a closing socket must not become uncaught exceptions.
        socket.on("error", () => undefined)
        try {
          socket.close()
        } catch {
          // already closed
        }
      })
  )

type Received = Decoded | { readonly truncated: true }

const overUdp = (server: Server, question: Question): Effect.Effect<Received, QueryFailure> =>
  Effect.scoped(
    Effect.gen(function*() {
      const socket = yield* udpSocket(server)
      const id = Crypto.randomInt(0, 65536)
      const message = DnsPacket.encode(queryPacket(id, question))
      return yield* Effect.async<Received, QueryFailure>((resume) => {
        const onMessage = (reply: Buffer) => {
          const decoded = decodeReply(reply, id, question)
          if (decoded === undefined) return
          if (decoded === "malformed") {
            resume(
              Effect.fail(new QueryFailure({ reason: "malformed", detail: `${reply.length} bytes not a DNS message` }))
            )
          } else if (decoded.packet.flag_tc) {
            resume(Effect.succeed({ truncated: true }))
          } else {
            resume(Effect.succeed(decoded))
          }
        }
        const onError = (error: unknown) =>
          resume(Effect.fail(new QueryFailure({ reason: "network", detail: errnoOf(error) })))
        socket.on("message", onMessage)
        socket.on("error", onError)
        socket.send(message, (error) => {
          if (error) onError(error)
        })
        return Effect.sync(() => {
          socket.off("message", onMessage)
          socket.off("error", onError)
        })
      })
    })
  )

const tcpSocket = (server: Server): Effect.Effect<Net.Socket, QueryFailure, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<Net.Socket, QueryFailure>((resume) => {
      const socket = Net.createConnection({ host: server.address, port: server.port })
      const onError = (error: unknown) => {
        socket.destroy()
        resume(Effect.fail(new QueryFailure({ reason: "network", detail: `tcp ${errnoOf(error)}` })))
      }
      socket.once("error", onError)
      socket.once("connect", () => {
        socket.off("error", onError)
        resume(Effect.succeed(socket))
      })
      return Effect.sync(() => socket.destroy())
    }),
    (socket) => Effect.sync(() => socket.destroy())
  )

const overTcp = (server: Server, question: Question): Effect.Effect<Decoded, QueryFailure> =>
  Effect.scoped(
    Effect.gen(function*() {
      const socket = yield* tcpSocket(server)
      const id = Crypto.randomInt(0, 65536)
      return yield* Effect.async<Decoded, QueryFailure>((resume) => {
        let buffered = Buffer.alloc(0)
        const fail = (reason: "network" | "malformed", detail: string) =>
          resume(Effect.fail(new QueryFailure({ reason, detail })))
        const onData = (chunk: Buffer) => {
          buffered = Buffer.concat([buffered, chunk])
          if (buffered.length < 2) return
          const length = buffered.readUInt16BE(0)
          if (buffered.length < 2 + length) return
          const decoded = decodeReply(buffered.subarray(2, 2 + length), id, question)
          if (decoded === undefined || decoded === "malformed") fail("malformed", "tcp reply is not our answer")
          else resume(Effect.succeed(decoded))
        }
        const onError = (error: unknown) => fail("network", `tcp ${errnoOf(error)}`)
        const onEnd = () => fail("network", "tcp connection closed before the answer")
        socket.on("data", onData)
        socket.on("error", onError)
        socket.on("end", onEnd)
        socket.write(DnsPacket.streamEncode(queryPacket(id, question)))
        return Effect.sync(() => {
          socket.off("data", onData)
          socket.off("error", onError)
          socket.off("end", onEnd)
        })
      })
    })
  )

/**
 * Asks one server one question: UDP, then TCP when the answer was truncated.
 *
 * @internal
 */
export const transport: Transport = (server, question) =>
  Effect.flatMap(overUdp(server, question), (received) =>
    "truncated" in received
      ? Effect.map(overTcp(server, question), toResponse)
      : Effect.succeed(toResponse(received)))
