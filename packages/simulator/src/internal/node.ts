/**
 * One address of the simulated gateway: its listener, its HTTPS server, and how it answers a
 * request under its fault.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import type * as Http from "node:http"
import * as Https from "node:https"
import * as Net from "node:net"
import type { Fault, LoggedRequest, Options } from "../GatewayServer.js"
import * as Api from "./jsonApi.js"

/**
 * What every address shares: the runtime, the transaction store, the request log, the
 * credentials and a counter for made-up request references.
 *
 * @internal
 */
export interface Server {
  readonly runtime: Runtime.Runtime<never>
  readonly options: Options
  readonly store: Api.Store
  readonly log: Array<LoggedRequest>
  readonly credentials: { readonly username: string; readonly password: string }
  readonly sitereference: Options["sitereference"]
  /** `Fault.None()`, the fault of a new address. */
  readonly none: Fault
  counter: number
}

/** @internal */
export interface Node {
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

/** @internal */
export const BODY_LIMIT = 1024 * 1024

/** @internal */
export const reset = (socket: Net.Socket): void => {
  if (socket.destroyed) return
  try {
    socket.resetAndDestroy()
  } catch {
    socket.destroy()
  }
}

/** @internal */
export const html = (status: number): string =>
  `<html><head><title>${status}</title></head><body><center><h1>${status}</h1></center><hr><center>nginx</center></body></html>\n`

/**
 * The error-code page's messages for the codes a fault is most often asked for.
 *
 * @internal
 */
export const MESSAGES: Readonly<Record<string, string>> = {
  "60010": "Bank System Error",
  "99999": "Unknown error",
  "71000": "Soft Decline"
}

/**
 * How the gateway answers bad Basic-auth credentials (its troubleshooting page shows this page).
 *
 * @internal
 */
export const UNAUTHORIZED_PAGE = `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
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
 * Answers one request on `node`: logged, then as its fault (or the JSON API) says.
 *
 * @internal
 */
export const respond = (
  server: Server,
  node: Node,
  req: Http.IncomingMessage,
  res: Http.ServerResponse,
  body: Buffer,
  fault: Fault
): void => {
  const headerRef = req.headers["requestreference"]
  server.counter += 1
  const requestreference = typeof headerRef === "string" && headerRef !== ""
    ? headerRef
    : `W${server.counter.toString(36).padStart(8, "0")}`
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
  server.log.push({
    address: node.address,
    requestreference,
    requestTypes: types,
    itemReferences,
    versioninfo: typeof versionHeader === "string" ? versionHeader : undefined,
    fault: fault._tag,
    username: Api.basicUsername(req.headers.authorization),
    authenticated: Api.authenticated(req.headers.authorization, server.credentials)
  })

  const send = (status: number, contentType: string, text: string, reference?: string) => {
    const headers: Record<string, string> = { "content-type": contentType }
    if (reference !== undefined) headers["requestreference"] = reference
    res.writeHead(status, headers)
    res.end(text)
  }

  const applies = (only: ReadonlyArray<string> | undefined) => only === undefined || types.some((t) => only.includes(t))
  if (fault._tag === "HttpStatus" && applies(fault.requestTypes)) {
    return send(fault.status, "text/html", html(fault.status))
  }
  if (req.method !== "POST") return send(405, "text/html", html(405))
  // Basic auth is checked before the body is read as JSON: bad credentials are a 401 page.
  if (!Api.authenticated(req.headers.authorization, server.credentials)) {
    res.writeHead(401, {
      "content-type": "text/html; charset=iso-8859-1",
      "www-authenticate": "Basic realm=\"webservices\""
    })
    res.end(UNAUTHORIZED_PAGE)
    return
  }
  const now = new Date(Runtime.runSync(server.runtime)(Clock.currentTimeMillis))
  const ctx = { address: node.address, requestreference, now, sitereference: server.sitereference }
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
    : Api.handleEnvelope(envelope, server.credentials, server.store, ctx)
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
      Runtime.runFork(server.runtime)(
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

/**
 * One address of the server: its raw listener (for faults at connect), its HTTPS server and counters.
 *
 * @internal
 */
export const makeNode = (
  server: Server,
  address: string,
  listeners: Map<Node, (socket: Net.Socket) => void>
): Node => {
  const { options } = server
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
    fault: server.none,
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
      respond(server, node, req, res, Buffer.concat(chunks), node.fault)
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
