/**
 * A small authoritative DNS server for tests and the gateway simulator: it speaks the real wire
 * protocol (UDP, and TCP for answers too big for UDP) on a loopback address, serves A, AAAA, NS and
 * CNAME records with the TTLs the caller gives, lets the caller change the zone and the server's
 * behaviour while it runs (answer, swallow every query, REFUSED, SERVFAIL, garbage) and keeps a log
 * of the queries it received.
 *
 * It only ever binds to loopback (127.0.0.0/8 or ::1), so a test can never talk to a real network.
 *
 * @since 0.1.0
 */
import * as DnsPacket from "dns-packet"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as Dgram from "node:dgram"
import * as Net from "node:net"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * The record types the server serves.
 *
 * @since 0.1.0
 * @category models
 */
export type RecordType = "A" | "AAAA" | "NS" | "CNAME"

/**
 * One record's data and its TTL in whole seconds (as on the wire).
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordData {
  readonly value: string
  readonly ttl: number
}

/**
 * One record of the zone.
 *
 * @since 0.1.0
 * @category models
 */
export interface ZoneRecord extends RecordData {
  readonly name: string
  readonly type: RecordType
}

/**
 * How the server treats every query: `answer` from the zone, `swallow` (never reply: a dead
 * server), reply `refused` or `servfail`, or reply with `malformed` bytes that are not a DNS message.
 *
 * @since 0.1.0
 * @category models
 */
export type Mode = "answer" | "swallow" | "refused" | "servfail" | "malformed"

/**
 * One query the server received, and what it did with it.
 *
 * @since 0.1.0
 * @category models
 */
export interface QueryLogEntry {
  readonly name: string
  readonly type: string
  readonly transport: "udp" | "tcp"
  /** "ip:port" of the client. */
  readonly from: string
  /** Epoch ms from `Clock`. */
  readonly at: number
  /** The mode the server was in when the query arrived. */
  readonly mode: Mode
  /** The response code sent, or "none" when the query was swallowed or answered with garbage. */
  readonly rcode: "NOERROR" | "NXDOMAIN" | "REFUSED" | "SERVFAIL" | "none"
  /** Whether the UDP answer was sent truncated (TC bit) to make the client retry over TCP. */
  readonly truncated: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Loopback address to bind: 127.0.0.0/8 or ::1. Default 127.0.0.1. */
  readonly address?: string | undefined
  /** Port for both UDP and TCP; 0 (default) picks a free high port. */
  readonly port?: number | undefined
  /** The records served at start. */
  readonly records?: ReadonlyArray<ZoneRecord> | undefined
  /** Default "answer". */
  readonly mode?: Mode | undefined
  /** Also serve DNS over TCP on the same port (default true). */
  readonly tcp?: boolean | undefined
}

/**
 * A running server.
 *
 * @since 0.1.0
 * @category models
 */
export interface DnsServer {
  readonly address: string
  readonly port: number
  /** "ip:port" (IPv6 as "[ip]:port"), the form resolvers are configured with. */
  readonly nameserver: string
  /** Replaces every record of `type` at `name` (an empty list removes them). */
  readonly setRecords: (name: string, type: RecordType, records: ReadonlyArray<RecordData>) => Effect.Effect<void>
  /** Replaces every record of `type` at `name` with one record. */
  readonly setRecord: (name: string, type: RecordType, value: string, ttl: number) => Effect.Effect<void>
  /** Changes the TTL of every record of `type` at `name`. */
  readonly setTtl: (name: string, type: RecordType, ttl: number) => Effect.Effect<void>
  /** Removes a name from the zone (then it is NXDOMAIN). */
  readonly removeName: (name: string) => Effect.Effect<void>
  /** The whole zone as it is now. */
  readonly records: Effect.Effect<ReadonlyArray<ZoneRecord>>
  readonly setMode: (mode: Mode) => Effect.Effect<void>
  /** Send UDP answers truncated (TC bit, no records), so clients must ask again over TCP. */
  readonly setTruncateUdp: (truncate: boolean) => Effect.Effect<void>
  /** Every query received so far, oldest first. */
  readonly queries: Effect.Effect<ReadonlyArray<QueryLogEntry>>
  readonly clearQueries: Effect.Effect<void>
}

/**
 * The server could not start (bad address, port in use).
 *
 * @since 0.1.0
 * @category errors
 */
export class DnsServerError extends Data.TaggedError("DnsServerError")<{
  readonly address: string
  readonly port: number
  readonly reason: string
}> {
  get message(): string {
    return `DNS server could not start on ${this.address}:${this.port}: ${this.reason}`
  }
}

// -----------------------------------------------------------------------------
// zone
// -----------------------------------------------------------------------------

const normalize = (name: string): string => name.trim().toLowerCase().replace(/\.$/, "")

const isLoopback = (address: string): boolean =>
  (Net.isIPv4(address) && address.startsWith("127.")) || address === "::1"

const formatHostPort = (address: string, port: number): string =>
  Net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`

type Zone = Map<string, Map<RecordType, ReadonlyArray<RecordData>>>

const toAnswer = (name: string, type: RecordType, r: RecordData): DnsPacket.Answer =>
  ({ name, type, ttl: r.ttl, class: "IN", data: r.value }) as DnsPacket.Answer

const lookup = (zone: Zone, name: string, type: RecordType): ReadonlyArray<RecordData> =>
  zone.get(name)?.get(type) ?? []

interface Built {
  readonly rcode: "NOERROR" | "NXDOMAIN"
  readonly answers: Array<DnsPacket.Answer>
  readonly additionals: Array<DnsPacket.Answer>
}

const answerFrom = (zone: Zone, qname: string, qtype: string): Built => {
  const answers: Array<DnsPacket.Answer> = []
  const additionals: Array<DnsPacket.Answer> = []
  let name = qname
  // Follow CNAMEs inside the zone, a bounded number of times.
  for (let hops = 0; hops < 8; hops++) {
    const node = zone.get(name)
    if (node === undefined) {
      return { rcode: hops === 0 ? "NXDOMAIN" : "NOERROR", answers, additionals }
    }
    const cname = node.get("CNAME") ?? []
    if (qtype !== "CNAME" && cname.length > 0) {
      answers.push(toAnswer(name, "CNAME", cname[0]))
      name = normalize(cname[0].value)
      continue
    }
    if (qtype === "A" || qtype === "AAAA" || qtype === "NS" || qtype === "CNAME") {
      for (const r of node.get(qtype) ?? []) answers.push(toAnswer(name, qtype, r))
    }
    if (qtype === "NS") {
      // Glue: the name servers' own addresses, when the zone has them.
      for (const ns of node.get("NS") ?? []) {
        const target = normalize(ns.value)
        for (const t of ["A", "AAAA"] as const) {
          for (const r of lookup(zone, target, t)) additionals.push(toAnswer(target, t, r))
        }
      }
    }
    return { rcode: "NOERROR", answers, additionals }
  }
  return { rcode: "NOERROR", answers, additionals }
}

const RCODE = { NOERROR: 0, NXDOMAIN: 3, SERVFAIL: 2, REFUSED: 5 } as const

// -----------------------------------------------------------------------------
// server
// -----------------------------------------------------------------------------

interface State {
  readonly zone: Zone
  mode: Mode
  truncateUdp: boolean
  readonly log: Array<QueryLogEntry>
}

/** What to send back for one query message; `undefined` sends nothing. */
const respond = (state: State, message: Buffer, transport: "udp" | "tcp", from: string) =>
  Effect.gen(function*() {
    const at = yield* Clock.currentTimeMillis
    let query: DnsPacket.DecodedPacket
    try {
      query = DnsPacket.decode(message)
    } catch {
      return undefined
    }
    const question = query.questions?.[0]
    const qname = normalize(question?.name ?? "")
    const qtype = question?.type ?? "A"
    const mode = state.mode
    const base = {
      type: "response" as const,
      id: query.id ?? 0,
      questions: query.questions ?? []
    }
    const log = (rcode: QueryLogEntry["rcode"], truncated = false) =>
      state.log.push({ name: qname, type: qtype, transport, from, at, mode, rcode, truncated })
    switch (mode) {
      case "swallow": {
        log("none")
        return undefined
      }
      case "malformed": {
        log("none")
        return Buffer.from([0xde, 0xad, 0xbe])
      }
      case "refused":
      case "servfail": {
        const rcode = mode === "refused" ? "REFUSED" : "SERVFAIL"
        log(rcode)
        return DnsPacket.encode({ ...base, flags: RCODE[rcode] })
      }
      case "answer": {
        const built = answerFrom(state.zone, qname, qtype)
        const flags = DnsPacket.AUTHORITATIVE_ANSWER | RCODE[built.rcode]
        if (transport === "udp" && state.truncateUdp) {
          log(built.rcode, true)
          return DnsPacket.encode({ ...base, flags: flags | DnsPacket.TRUNCATED_RESPONSE })
        }
        log(built.rcode)
        return DnsPacket.encode({ ...base, flags, answers: built.answers, additionals: built.additionals })
      }
    }
  })

const bindUdp = (address: string, port: number): Effect.Effect<Dgram.Socket, DnsServerError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<Dgram.Socket, DnsServerError>((resume) => {
      const socket = Dgram.createSocket({ type: Net.isIPv6(address) ? "udp6" : "udp4" })
      const onError = (error: NodeJS.ErrnoException) => {
        socket.close()
        resume(Effect.fail(new DnsServerError({ address, port, reason: `udp: ${error.code ?? error.message}` })))
      }
      socket.once("error", onError)
      socket.bind(port, address, () => {
        socket.off("error", onError)
        resume(Effect.succeed(socket))
      })
    }),
    (socket) =>
      Effect.async<void>((resume) => {
        try {
          socket.close(() => resume(Effect.void))
        } catch {
          resume(Effect.void)
        }
      })
  )

const bindTcp = (
  address: string,
  port: number,
  onConnection: (socket: Net.Socket) => void
): Effect.Effect<Net.Server, DnsServerError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: Net.Server; sockets: Set<Net.Socket> }, DnsServerError>((resume) => {
      const sockets = new Set<Net.Socket>()
      const server = Net.createServer((socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        socket.on("error", () => socket.destroy())
        onConnection(socket)
      })
      const onError = (error: NodeJS.ErrnoException) => {
        server.close()
        resume(Effect.fail(new DnsServerError({ address, port, reason: `tcp: ${error.code ?? error.message}` })))
      }
      server.once("error", onError)
      server.listen({ host: address, port, exclusive: true }, () => {
        server.off("error", onError)
        resume(Effect.succeed({ server, sockets }))
      })
    }),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        for (const s of sockets) s.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ server }) => server))

/**
 * Starts a server in the current scope; closing the scope stops it (sockets closed, port freed).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<DnsServer, DnsServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const address = options.address ?? "127.0.0.1"
    const wanted = options.port ?? 0
    if (!isLoopback(address)) {
      return yield* new DnsServerError({ address, port: wanted, reason: "only loopback addresses are allowed" })
    }
    const state: State = {
      zone: new Map(),
      mode: options.mode ?? "answer",
      truncateUdp: false,
      log: []
    }
    for (const r of options.records ?? []) {
      const name = normalize(r.name)
      const node = state.zone.get(name) ?? new Map<RecordType, ReadonlyArray<RecordData>>()
      node.set(r.type, [...(node.get(r.type) ?? []), { value: r.value, ttl: r.ttl }])
      state.zone.set(name, node)
    }
    const runtime = yield* Effect.runtime<never>()
    const run = Runtime.runSync(runtime)

    const onTcpConnection = (socket: Net.Socket) => {
      let buffered = Buffer.alloc(0)
      socket.on("data", (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk])
        while (buffered.length >= 2) {
          const length = buffered.readUInt16BE(0)
          if (buffered.length < 2 + length) break
          const message = buffered.subarray(2, 2 + length)
          buffered = buffered.subarray(2 + length)
          const reply = run(
            respond(state, message, "tcp", formatHostPort(socket.remoteAddress ?? "", socket.remotePort ?? 0))
          )
          if (reply !== undefined) {
            const frame = Buffer.alloc(2 + reply.length)
            frame.writeUInt16BE(reply.length, 0)
            reply.copy(frame, 2)
            socket.write(frame)
          }
        }
      })
    }

    // UDP first (port 0 picks one), then TCP on the same port; a few tries when TCP's is taken.
    // Each try binds in a scope of its own, closed at once when the try fails.
    const bindBoth = Effect.gen(function*() {
      const child = yield* Scope.make()
      const bound = yield* Effect.gen(function*() {
        const udp = yield* bindUdp(address, wanted)
        const port = udp.address().port
        if (options.tcp !== false) yield* bindTcp(address, port, onTcpConnection)
        return { udp, port }
      }).pipe(
        Scope.extend(child),
        Effect.onExit((exit) => Exit.isFailure(exit) ? Scope.close(child, exit) : Effect.void)
      )
      yield* Effect.addFinalizer((exit) => Scope.close(child, exit))
      return bound
    })
    const { port, udp } = yield* (wanted === 0 ? Effect.retry(bindBoth, { times: 9 }) : bindBoth)

    udp.on("message", (message, rinfo) => {
      const reply = run(respond(state, message, "udp", formatHostPort(rinfo.address, rinfo.port)))
      if (reply !== undefined) udp.send(reply, rinfo.port, rinfo.address)
    })
    udp.on("error", () => undefined)

    const setRecords = (name: string, type: RecordType, records: ReadonlyArray<RecordData>) =>
      Effect.sync(() => {
        const key = normalize(name)
        const node = state.zone.get(key) ?? new Map<RecordType, ReadonlyArray<RecordData>>()
        if (records.length === 0) node.delete(type)
        else node.set(type, records.map((r) => ({ value: r.value, ttl: r.ttl })))
        state.zone.set(key, node)
      })

    return {
      address,
      port,
      nameserver: formatHostPort(address, port),
      setRecords,
      setRecord: (name, type, value, ttl) => setRecords(name, type, [{ value, ttl }]),
      setTtl: (name, type, ttl) =>
        Effect.sync(() => {
          const node = state.zone.get(normalize(name))
          const records = node?.get(type)
          if (node !== undefined && records !== undefined) node.set(type, records.map((r) => ({ ...r, ttl })))
        }),
      removeName: (name) => Effect.sync(() => void state.zone.delete(normalize(name))),
      records: Effect.sync(() =>
        [...state.zone.entries()].flatMap(([name, node]) =>
          [...node.entries()].flatMap(([type, records]) => records.map((r) => ({ name, type, ...r })))
        )
      ),
      setMode: (mode) => Effect.sync(() => void (state.mode = mode)),
      setTruncateUdp: (truncate) => Effect.sync(() => void (state.truncateUdp = truncate)),
      queries: Effect.sync(() => [...state.log]),
      clearQueries: Effect.sync(() => void (state.log.length = 0))
    } satisfies DnsServer
  })
