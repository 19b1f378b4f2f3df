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
import type * as Http from "node:http"
import * as Https from "node:https"
import * as Net from "node:net"
import * as Api from "./internal/jsonApi.js"

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

interface Node {
  readonly address: string
  /** Replaced when the address listens again after `Refuse`. */
  listener: Net.Server
  readonly https: Https.Server
  fault: Fault
  listening: boolean
  accepted: number
  handshakes: number
  requests: number
  /** Connections counted under the current Drop fault. */
  dropCounter: number
  readonly sockets: Set<Net.Socket>
  /** Raw TCP sockets by the client's port, so a reset can be a real RST. */
  readonly byRemotePort: Map<number, Net.Socket>
}

const BODY_LIMIT = 1024 * 1024

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

const reset = (socket: Net.Socket): void => {
  if (socket.destroyed) return
  try {
    socket.resetAndDestroy()
  } catch {
    socket.destroy()
  }
}

const html = (status: number): string =>
  `<html><head><title>${status}</title></head><body><center><h1>${status}</h1></center><hr><center>nginx</center></body></html>\n`

/** The error-code page's messages for the codes a fault is most often asked for. */
const MESSAGES: Readonly<Record<string, string>> = {
  "60010": "Bank System Error",
  "99999": "Unknown error",
  "71000": "Soft Decline"
}

/** How the gateway answers bad Basic-auth credentials (its troubleshooting page shows this page). */
const UNAUTHORIZED_PAGE = `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>401 Authorization Required</title>
</head><body>
<h1>Authorization Required</h1>
<p>This server could not verify that you
are authorized to access the document
requested.  Either you supplied the wrong
credentials (e.g., bad password), or your
browser doesn't understand how to supply
the credentials required.</p>
</body></html>
`

/**
 * Starts the server in the current scope; closing the scope stops it and closes every connection.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = (options: Options): Effect.Effect<GatewayServer, GatewayServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)
    const store: Api.Store = { transactions: [], next: 0 }
    const log: Array<LoggedRequest> = []
    const nodes = new Map<string, Node>()
    const credentials = { username: options.username, password: options.password }
    let counter = 0
    const listeners = new Map<Node, (socket: Net.Socket) => void>()

    const respond = (
      node: Node,
      req: Http.IncomingMessage,
      res: Http.ServerResponse,
      body: Buffer,
      fault: Fault
    ): void => {
      const headerRef = req.headers["requestreference"]
      counter += 1
      const requestreference = typeof headerRef === "string" && headerRef !== ""
        ? headerRef
        : `W${counter.toString(36).padStart(8, "0")}`
      let envelope: unknown
      let parsed = true
      try {
        envelope = JSON.parse(body.toString("utf8"))
      } catch {
        parsed = false
      }
      // Every type of every item, so a chain's AUTH counts as an AUTH.
      const types =
        typeof envelope === "object" && envelope !== null && Array.isArray((envelope as { request?: unknown }).request)
          ? (envelope as { request: Array<unknown> }).request.flatMap((r) =>
            typeof r === "object" && r !== null &&
              Array.isArray((r as { requesttypedescriptions?: unknown }).requesttypedescriptions)
              ? (r as { requesttypedescriptions: Array<unknown> }).requesttypedescriptions.map(String)
              : ["?"]
          )
          : []
      const itemReferences =
        typeof envelope === "object" && envelope !== null && Array.isArray((envelope as { request?: unknown }).request)
          ? (envelope as { request: Array<unknown> }).request.map((r) =>
            typeof r === "object" && r !== null &&
              typeof (r as { requestreference?: unknown }).requestreference === "string"
              ? (r as { requestreference: string }).requestreference
              : undefined
          )
          : []
      const versionHeader = req.headers["versioninfo"]
      node.requests += 1
      log.push({
        address: node.address,
        requestreference,
        requestTypes: types,
        itemReferences,
        versioninfo: typeof versionHeader === "string" ? versionHeader : undefined,
        fault: fault._tag,
        username: Api.basicUsername(req.headers.authorization),
        authenticated: Api.authenticated(req.headers.authorization, credentials)
      })

      const send = (status: number, contentType: string, text: string, reference?: string) => {
        const headers: Record<string, string> = { "content-type": contentType }
        if (reference !== undefined) headers["requestreference"] = reference
        res.writeHead(status, headers)
        res.end(text)
      }

      const applies = (only: ReadonlyArray<string> | undefined) =>
        only === undefined || types.some((t) => only.includes(t))
      if (fault._tag === "HttpStatus" && applies(fault.requestTypes)) {
        return send(fault.status, "text/html", html(fault.status))
      }
      if (req.method !== "POST") return send(405, "text/html", html(405))
      // Basic auth is checked before the body is read as JSON: bad credentials are a 401 page.
      if (!Api.authenticated(req.headers.authorization, credentials)) {
        res.writeHead(401, {
          "content-type": "text/html; charset=iso-8859-1",
          "www-authenticate": "Basic realm=\"webservices\""
        })
        res.end(UNAUTHORIZED_PAGE)
        return
      }
      const now = new Date(Runtime.runSync(runtime)(Clock.currentTimeMillis))
      const ctx = { address: node.address, requestreference, now, sitereference: options.sitereference }
      const codeApplies = fault._tag === "ErrorCode" && applies(fault.requestTypes)
      const answer: { readonly response: Array<Record<string, unknown>> } = !parsed
        ? { response: [Api.malformedJson(now)] }
        : codeApplies && fault._tag === "ErrorCode" && fault.process !== true
        ? {
          response: types.map((t) => ({
            requesttypedescription: t,
            errorcode: fault.code,
            errormessage: MESSAGES[fault.code] ?? "Simulated upstream failure",
            errordata: [],
            transactionstartedtimestamp: Api.timestamp(now)
          }))
        }
        : Api.handleEnvelope(envelope, credentials, store, ctx)
      if (codeApplies && fault._tag === "ErrorCode" && fault.process === true) {
        // Processed and recorded as usual; only the answer carries the code.
        for (const item of answer.response) {
          item.errorcode = fault.code
          item.errormessage = MESSAGES[fault.code] ?? "Simulated failure"
          delete item.authcode
          delete item.settlestatus
        }
      }
      const reference = fault._tag === "WrongReference" ? `A${"z".repeat(8)}` : requestreference
      const json = JSON.stringify({
        requestreference: reference,
        version: "1.00",
        secrand: "sim",
        response: answer.response
      })

      switch (fault._tag) {
        case "ResetAfterRequest": {
          if (!applies(fault.requestTypes)) break
          const raw = node.byRemotePort.get(req.socket.remotePort ?? -1)
          if (raw !== undefined) reset(raw)
          else req.socket.destroy()
          return
        }
        case "AnswerLate": {
          if (!applies(fault.requestTypes)) break
          runFork(
            Effect.sleep(fault.millis).pipe(
              Effect.andThen(Effect.sync(() => {
                if (!res.destroyed && !res.writableEnded) send(200, "application/json", json, reference)
              }))
            )
          )
          return
        }
        case "Malformed":
          return send(200, "application/json", "<html>upstream error</html>", reference)
        case "CloseKeepAlive": {
          res.on("finish", () => req.socket.end())
          return send(200, "application/json", json, reference)
        }
      }
      return send(200, "application/json", json, reference)
    }

    const makeNode = (address: string): Node => {
      const https = Https.createServer({
        key: options.tls.key,
        cert: options.tls.cert,
        minVersion: "TLSv1.2",
        keepAlive: true,
        keepAliveTimeout: options.keepAliveTimeoutMillis ?? 75_000,
        requestTimeout: 120_000
      })
      const node: Node = {
        address,
        listener: Net.createServer(),
        https,
        fault: Fault.None(),
        listening: false,
        accepted: 0,
        handshakes: 0,
        requests: 0,
        dropCounter: 0,
        sockets: new Set(),
        byRemotePort: new Map()
      }
      https.on("secureConnection", () => {
        node.handshakes += 1
      })
      https.on("tlsClientError", () => {
        // a client that gave up on the handshake: nothing to do
      })
      https.on("request", (req: Http.IncomingMessage, res: Http.ServerResponse) => {
        const chunks: Array<Buffer> = []
        let size = 0
        req.on("data", (chunk: Buffer) => {
          size += chunk.length
          if (size > BODY_LIMIT) {
            res.writeHead(413, { "content-type": "text/html", connection: "close" })
            res.end(html(413))
            req.socket.destroy()
            return
          }
          chunks.push(chunk)
        })
        req.on("end", () => {
          if (size > BODY_LIMIT) return
          respond(node, req, res, Buffer.concat(chunks), node.fault)
        })
      })
      const onConnection = (socket: Net.Socket) => {
        node.accepted += 1
        node.sockets.add(socket)
        const port = socket.remotePort
        if (port !== undefined) node.byRemotePort.set(port, socket)
        socket.on("close", () => {
          node.sockets.delete(socket)
          if (port !== undefined && node.byRemotePort.get(port) === socket) node.byRemotePort.delete(port)
        })
        socket.on("error", () => {
          // resets from clients are expected
        })
        const fault = node.fault
        switch (fault._tag) {
          case "ResetOnConnect":
            return reset(socket)
          case "StallHandshake":
            return
          case "Drop": {
            const i = node.dropCounter++
            if (fault.m > 0 && i % fault.m < fault.n) return socket.destroy()
            break
          }
        }
        node.https.emit("connection", socket)
      }
      node.listener.on("connection", onConnection)
      listeners.set(node, onConnection)
      return node
    }

    const addresses = Array.from(new Set(options.addresses))
    for (const address of addresses) {
      if (!Net.isIPv4(address) || !address.startsWith("127.")) {
        return yield* new GatewayServerError({
          address,
          port: options.port ?? 0,
          reason: "only IPv4 loopback addresses (127.0.0.0/8) are allowed"
        })
      }
      const node = makeNode(address)
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
