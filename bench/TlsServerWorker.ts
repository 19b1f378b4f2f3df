/**
 * The TLS HTTP servers the benchmarks talk to, run in a worker thread so that the server's work
 * (TLS handshakes, parsing, answering) does not share the event loop of the client being measured.
 * One node `https` server per loopback address, all on the same port, each answering every request
 * with the same small JSON body that names the address that answered.
 *
 * Protocol with the parent: workerData = { addresses, key, cert, keepAliveTimeoutMillis, port }; the
 * worker posts { port } once listening; on "stats" it posts the requests answered, TLS connections
 * accepted and of them those that resumed a session, per address; on "close" it destroys every
 * socket, closes the servers and
 * posts { closed: true }.
 */
import type * as Http from "node:http"
import * as Https from "node:https"
import * as Net from "node:net"
import { parentPort, workerData } from "node:worker_threads"

interface Data {
  readonly addresses: ReadonlyArray<string>
  readonly key: string
  readonly cert: string
  readonly keepAliveTimeoutMillis: number
  /** 0: a random port (the first address's, shared by the others). */
  readonly port?: number
}

const data = workerData as Data
const servers: Array<Https.Server> = []
const sockets = new Set<Net.Socket>()
const requests: Record<string, number> = {}
const connections: Record<string, number> = {}
/** TLS connections whose handshake resumed a session (P3). */
const resumed: Record<string, number> = {}

const listen = (server: Net.Server, address: string, port: number) =>
  new Promise<number>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, address, () => {
      server.off("error", reject)
      resolve((server.address() as Net.AddressInfo).port)
    })
  })

const authAnswer = (reference: string): string =>
  JSON.stringify({
    requestreference: reference,
    version: "1.00",
    response: [{
      errorcode: "0",
      errormessage: "Ok",
      settlestatus: "0",
      transactionreference: "1-2-3",
      requesttypedescription: "AUTH",
      requestreference: reference
    }],
    secrand: "x"
  })

const start = async (): Promise<number> => {
  let port = data.port ?? 0
  for (const address of data.addresses) {
    requests[address] = 0
    connections[address] = 0
    resumed[address] = 0
    const payload = JSON.stringify({
      requestreference: "A0000bench",
      version: "1.00",
      address,
      response: [{ errorcode: "0", errormessage: "Ok", settlestatus: "0", transactionreference: "1-2-3" }]
    })
    const server = Https.createServer(
      { key: data.key, cert: data.cert },
      (req: Http.IncomingMessage, res: Http.ServerResponse) => {
        requests[address]++
        req.on("data", () => undefined)
        req.on("end", () => {
          // a gateway-shaped AUTH answer echoing the request reference, when one was sent (bench/gateway.ts)
          const reference = req.headers.requestreference
          const body = typeof reference === "string" ? authAnswer(reference) : payload
          res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
          res.end(body)
        })
      }
    )
    server.keepAliveTimeout = data.keepAliveTimeoutMillis
    server.maxRequestsPerSocket = 0
    server.on("connection", (s: Net.Socket) => {
      sockets.add(s)
      s.on("close", () => sockets.delete(s))
    })
    server.on("secureConnection", (s: { isSessionReused: () => boolean }) => {
      connections[address]++
      if (s.isSessionReused()) resumed[address]++
    })
    server.on("tlsClientError", () => undefined)
    servers.push(server)
    port = await listen(server, address, port)
  }
  return port
}

const close = async () => {
  for (const s of sockets) s.destroy()
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
}

start().then(
  (port) => parentPort!.postMessage({ port }),
  (e: unknown) => parentPort!.postMessage({ error: String(e) })
)
parentPort!.on("message", (m: unknown) => {
  if (m === "stats") parentPort!.postMessage({ stats: { requests, connections, resumed } })
  if (m === "close") {
    void close().then(() => {
      parentPort!.postMessage({ closed: true })
      parentPort!.close()
    })
  }
})
