/**
 * A local Secure Trading gateway: a TLS HTTP server on one or more loopback addresses that speaks
 * the JSON API (Basic auth, AUTH with the standard test cards, TRANSACTIONQUERY from what it
 * recorded, ...), counts every request that reaches it per address, and injects faults per address
 * while it runs: refuse connections, stall the TLS handshake, reset after reading a request, answer
 * late, drop N of every M connections, close kept-alive connections, answer a wrong reference.
 *
 * Each address has its own TCP listener; accepted sockets are handed to a Node `https` server
 * only when the address's fault lets them through, so every fault happens at the right layer.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Net from "node:net"
import * as Api from "./internal/jsonApi.js"
import { makeNode, type Node, type Server } from "./internal/node.js"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * What an address does to the connections and requests that reach it.
 *
 * @since 0.1.0
 * @category models
 */
export type Fault = Data.TaggedEnum<{
  /** Serve normally. */
  None: {}
  /** Stop listening: connections are refused (ECONNREFUSED). */
  Refuse: {}
  /** Accept the TCP connection, then reset it (RST) before TLS. */
  ResetOnConnect: {}
  /** Accept the TCP connection and never speak TLS. */
  StallHandshake: {}
  /** Drop `n` of every `m` connections before TLS (the first `n` of each group of `m`). */
  Drop: { readonly n: number; readonly m: number }
  /**
   * Read and process the whole request (a payment is recorded), then reset the connection. With
   * `requestTypes`, only requests of those types (e.g. ["AUTH"]); others are answered.
   */
  ResetAfterRequest: { readonly requestTypes?: ReadonlyArray<string> | undefined }
  /** Process the request, then wait `millis` before answering (with `requestTypes`: only those). */
  AnswerLate: { readonly millis: number; readonly requestTypes?: ReadonlyArray<string> | undefined }
  /** Answer normally, then close the connection although it was offered as keep-alive. */
  CloseKeepAlive: {}
  /** Answer with this HTTP status and an HTML body, without processing (with `requestTypes`: only those). */
  HttpStatus: { readonly status: number; readonly requestTypes?: ReadonlyArray<string> | undefined }
  /** Process the request, then answer with another request's reference. */
  WrongReference: {}
  /** Process the request, then answer with a body that is not JSON. */
  Malformed: {}
  /**
   * Answer every request item with this gateway errorcode (e.g. "50003", "60020"), without
   * processing it; with `process`, process (and record) the request first, so the answer's code
   * hides what happened, as 60010 does when the bank's answer is lost. With `requestTypes`: only those.
   */
  ErrorCode: {
    readonly code: string
    readonly process?: boolean | undefined
    readonly requestTypes?: ReadonlyArray<string> | undefined
  }
}>

/**
 * @since 0.1.0
 * @category constructors
 */
export const Fault = Data.taggedEnum<Fault>()

/**
 * A recorded transaction (card numbers masked: the simulator never keeps one).
 *
 * @since 0.1.0
 * @category models
 */
export type Transaction = Readonly<Api.Transaction>

/**
 * One request that reached the server (read in full). No body, no header values but the reference.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoggedRequest {
  readonly address: string
  readonly requestreference: string
  readonly requestTypes: ReadonlyArray<string>
  /** The `requestreference` of each request item (undefined where an item had none). */
  readonly itemReferences?: ReadonlyArray<string | undefined> | undefined
  /** The `versioninfo` header, when sent (library and runtime, for the gateway's support). */
  readonly versioninfo?: string | undefined
  /** The fault in force when it arrived. */
  readonly fault: Fault["_tag"]
  /** The Basic-auth user name it carried (never the password); undefined without one. */
  readonly username?: string | undefined
  /** Whether its Basic-auth user name and password were this server's. */
  readonly authenticated?: boolean | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Loopback addresses to listen on, e.g. ["127.0.0.2", "127.0.0.3"]. */
  readonly addresses: ReadonlyArray<string>
  /** One port for every address; 0 picks a free one (the first address's, reused for the others). */
  readonly port?: number | undefined
  /** The server certificate's key and chain (leaf then intermediate), PEM. */
  readonly tls: { readonly key: string; readonly cert: string }
  readonly username: string
  readonly password: string
  /** When given, requests naming another site reference are rejected (30000). */
  readonly sitereference?: string | undefined
  /** How long an idle kept-alive connection is kept (default 75 s, as nginx). */
  readonly keepAliveTimeoutMillis?: number | undefined
}

/**
 * The server could not start: an address could not be listened on.
 *
 * @since 0.1.0
 * @category errors
 */
export class GatewayServerError extends Data.TaggedError("GatewayServerError")<{
  readonly address: string
  readonly port: number
  readonly reason: string
}> {
  get message(): string {
    return `the gateway simulator could not listen on ${this.address}:${this.port}: ${this.reason}`
  }
}

/**
 * A running server and its controls.
 *
 * @since 0.1.0
 * @category models
 */
export interface GatewayServer {
  readonly addresses: ReadonlyArray<string>
  readonly port: number
  /** Changes what an address does; effective for the next connection or request. */
  readonly setFault: (address: string, fault: Fault) => Effect.Effect<void, GatewayServerError>
  readonly fault: (address: string) => Fault
  /** Requests that reached the server (read in full), at one address or at all. */
  readonly requestsReceived: (address?: string) => number
  /** TCP connections accepted, at one address or at all. */
  readonly connectionsAccepted: (address?: string) => number
  /** TLS handshakes completed, at one address or at all. */
  readonly handshakesCompleted: (address?: string) => number
  readonly requestLog: () => ReadonlyArray<LoggedRequest>
  readonly transactions: () => ReadonlyArray<Transaction>
  /** Closes every open connection (kept-alive, stalled) at one address or at all. */
  readonly closeConnections: (address?: string) => Effect.Effect<void>
}

// -----------------------------------------------------------------------------
// the server
// -----------------------------------------------------------------------------

const listen = (server: Net.Server, address: string, port: number): Effect.Effect<number, GatewayServerError> =>
  Effect.async<number, GatewayServerError>((resume) => {
    const onError = (error: Error) => {
      server.off("listening", onListening)
      resume(
        Effect.fail(
          new GatewayServerError({ address, port, reason: (error as NodeJS.ErrnoException).code ?? error.message })
        )
      )
    }
    const onListening = () => {
      server.off("error", onError)
      const bound = server.address()
      resume(Effect.succeed(typeof bound === "object" && bound !== null ? bound.port : port))
    }
    server.once("error", onError)
    server.once("listening", onListening)
    server.listen({ host: address, port, exclusive: true })
  })

/** Stops accepting at once; `close` would wait for every open connection to end. */
const stopListening = (server: Net.Server): Effect.Effect<void> =>
  Effect.sync(() => {
    if (server.listening) server.close()
  })

/**
 * Starts the server in the current scope; closing the scope stops it and closes every connection.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = (options: Options): Effect.Effect<GatewayServer, GatewayServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const store: Api.Store = { transactions: [], next: 0 }
    const log: Array<LoggedRequest> = []
    const nodes = new Map<string, Node>()
    const credentials = { username: options.username, password: options.password }
    const server: Server = {
      runtime,
      options,
      store,
      log,
      credentials,
      sitereference: options.sitereference,
      none: Fault.None(),
      counter: 0
    }
    const listeners = new Map<Node, (socket: Net.Socket) => void>()

    const addresses = Array.from(new Set(options.addresses))
    for (const address of addresses) {
      if (!Net.isIPv4(address) || !address.startsWith("127.")) {
        return yield* new GatewayServerError({
          address,
          port: options.port ?? 0,
          reason: "only IPv4 loopback addresses (127.0.0.0/8) are allowed"
        })
      }
      const node = makeNode(server, address, listeners)
      nodes.set(address, node)
      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          yield* stopListening(node.listener)
          for (const socket of node.sockets) socket.destroy()
          node.https.close()
        })
      )
    }
    // With port 0 the first address picks a free port and the others take the same one; if that
    // port is taken on another address, all start again on a new port (a few times).
    let port = options.port ?? 0
    for (let attempt = 1;; attempt++) {
      port = options.port ?? 0
      let failed: GatewayServerError | undefined
      for (const node of nodes.values()) {
        const result = yield* Effect.either(listen(node.listener, node.address, port))
        if (result._tag === "Left") {
          failed = result.left
          break
        }
        port = result.right
        node.listening = true
      }
      if (failed === undefined) break
      for (const node of nodes.values()) {
        if (node.listening) yield* stopListening(node.listener)
        node.listening = false
        const listener = Net.createServer()
        listener.on("connection", listeners.get(node)!)
        node.listener = listener
      }
      if ((options.port ?? 0) !== 0 || attempt >= 5) return yield* failed
    }

    const nodeOf = (address: string): Effect.Effect<Node, GatewayServerError> => {
      const node = nodes.get(address)
      return node === undefined
        ? Effect.fail(new GatewayServerError({ address, port, reason: "not one of the simulator's addresses" }))
        : Effect.succeed(node)
    }

    const sum = (f: (n: Node) => number) => (address?: string): number =>
      address === undefined
        ? Array.from(nodes.values()).reduce((a, n) => a + f(n), 0)
        : (nodes.get(address) === undefined ? 0 : f(nodes.get(address)!))

    const setFault = (address: string, fault: Fault): Effect.Effect<void, GatewayServerError> =>
      Effect.gen(function*() {
        const node = yield* nodeOf(address)
        node.fault = fault
        node.dropCounter = 0
        if (fault._tag === "Refuse" && node.listening) {
          node.listening = false
          yield* stopListening(node.listener)
        } else if (fault._tag !== "Refuse" && !node.listening) {
          const listener = Net.createServer()
          listener.on("connection", listeners.get(node)!)
          node.listener = listener
          yield* listen(listener, address, port)
          node.listening = true
        }
      })

    const closeConnections = (address?: string): Effect.Effect<void> =>
      Effect.sync(() => {
        for (const node of nodes.values()) {
          if (address !== undefined && node.address !== address) continue
          for (const socket of node.sockets) socket.destroy()
        }
      })

    return {
      addresses,
      port,
      setFault,
      fault: (address) => nodes.get(address)?.fault ?? Fault.None(),
      requestsReceived: sum((n) => n.requests),
      connectionsAccepted: sum((n) => n.accepted),
      handshakesCompleted: sum((n) => n.handshakes),
      requestLog: () => log.slice(),
      transactions: () => {
        Api.settle(store, new Date(Runtime.runSync(runtime)(Clock.currentTimeMillis)))
        return store.transactions.map((t) => ({ ...t }))
      },
      closeConnections
    } satisfies GatewayServer
  })
