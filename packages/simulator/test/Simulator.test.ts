import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Dns from "node:dns"
import * as Fs from "node:fs"
import * as Https from "node:https"
import * as GatewayServer from "../src/GatewayServer.js"
import * as Simulator from "../src/Simulator.js"

const resolver = (sim: Simulator.Simulator) => {
  const r = new Dns.promises.Resolver({ timeout: 500, tries: 1 })
  r.setServers(sim.nameservers.slice())
  return r
}

const authBody = (sim: Simulator.Simulator, orderreference: string) =>
  JSON.stringify({
    alias: sim.username,
    version: "1.00",
    request: [{
      requesttypedescriptions: ["AUTH"],
      sitereference: sim.sitereference,
      baseamount: "100",
      currencyiso3a: "GBP",
      accounttypedescription: "ECOM",
      orderreference,
      pan: "5555555555554444",
      expirydate: "01/2031",
      securitycode: "321"
    }]
  })

/** POST to one address, verifying the chain with only the CA file and the host name as SNI. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- arbitrary JSON read by the tests
type Json = any

const post = (sim: Simulator.Simulator, address: string, body: string) =>
  Effect.async<{ status: number; json: Json }, Error>((resume) => {
    const url = new URL(sim.url)
    const req = Https.request({
      host: address,
      port: Number(url.port),
      servername: url.hostname,
      ca: Fs.readFileSync(sim.caFile, "utf8"),
      path: url.pathname,
      method: "POST",
      agent: false,
      timeout: 5_000,
      headers: {
        "content-type": "application/json;charset=utf-8",
        authorization: "Basic " + Buffer.from(`${sim.username}:${sim.password}`).toString("base64")
      }
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on(
        "end",
        () =>
          resume(Effect.succeed({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }))
      )
    })
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.on("error", (e) => resume(Effect.fail(e)))
    req.end(body)
  })

describe("Simulator", () => {
  it.scopedLive("serves the gateway name over DNS with a short TTL and NS records", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.start()
      expect(sim.hostname).toBe("webservices.securetrading.test")
      expect(sim.addresses).toEqual(["127.0.0.2", "127.0.0.3", "127.0.0.4"])
      const r = resolver(sim)
      const answers = yield* Effect.promise(() => r.resolve4(sim.hostname, { ttl: true }))
      expect(answers.map((a) => a.address).sort()).toEqual(sim.addresses)
      for (const a of answers) expect(a.ttl).toBeLessThanOrEqual(2)
      const ns = yield* Effect.promise(() => r.resolveNs("securetrading.test"))
      expect(ns).toEqual(["ns1.securetrading.test"])
      expect(yield* Effect.promise(() => r.resolve4("ns1.securetrading.test"))).toEqual(["127.0.0.1"])

      yield* sim.pointDnsAt("127.0.0.3")
      expect(yield* Effect.promise(() => r.resolve4(sim.hostname))).toEqual(["127.0.0.3"])
    }))

  it.scopedLive("every address serves the JSON API with a chain the CA file verifies", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.start()
      for (const [i, address] of sim.addresses.entries()) {
        const reply = yield* post(sim, address, authBody(sim, `order-${i}`))
        expect(reply.status).toBe(200)
        expect(reply.json.response[0].errorcode).toBe("0")
        expect(sim.requestsReceived(address)).toBe(1)
      }
      expect(sim.requestsReceived()).toBe(3)
      expect(sim.transactions().map((t) => t.address)).toEqual(sim.addresses)
      yield* sim.setFault("127.0.0.3", GatewayServer.Fault.Refuse())
      const refused = yield* Effect.flip(post(sim, "127.0.0.3", authBody(sim, "x")))
      expect((refused as NodeJS.ErrnoException).code).toBe("ECONNREFUSED")
    }))

  it.effect("the env map is what a client needs; closing the scope removes the CA file", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const sim = yield* Simulator.start().pipe(Scope.extend(scope))
      expect(sim.env).toEqual({
        STPP_URL: `https://webservices.securetrading.test:${sim.port}/json/`,
        STPP_NAMESERVERS: sim.nameservers[0],
        STPP_CA_FILE: sim.caFile,
        STPP_TRUST_STORE: "only",
        STPP_USERNAME: sim.username,
        STPP_PASSWORD: sim.password,
        STPP_SITE_REFERENCE: sim.sitereference
      })
      expect(sim.nameservers[0]).toMatch(/^127\.0\.0\.1:\d+$/)
      expect(Fs.readFileSync(sim.caFile, "utf8")).toContain("BEGIN CERTIFICATE")
      yield* Scope.close(scope, Exit.void)
      expect(Fs.existsSync(sim.caFile)).toBe(false)
    }))
})
