/**
 * The baseline process of bench/repeat.ts: what `stpp request --repeat N` does, written by hand
 * with undici: N POSTs of the same envelope one after the other on one `Pool`, each answer read
 * with `JSON.parse` and one JSON line printed per request.
 *
 *   node bench/build/repeatBaseline.js N   (STPP_URL, STPP_CA_FILE, STPP_BENCH_ADDRESS from the parent)
 */
import * as Fs from "node:fs"
import * as Undici from "undici"

const n = Number(process.argv[2] ?? "1")
const url = new URL(process.env.STPP_URL!)
const pool = new Undici.Pool(`https://${process.env.STPP_BENCH_ADDRESS}:${url.port}`, {
  connections: 1,
  connect: { ca: Fs.readFileSync(process.env.STPP_CA_FILE!, "utf8"), servername: url.hostname }
})
const authorization = `Basic ${
  Buffer.from(`${process.env.STPP_USERNAME}:${process.env.STPP_PASSWORD}`).toString("base64")
}`
const item = JSON.parse(Fs.readFileSync(process.argv[3]!, "utf8")) as Record<string, unknown>
for (let i = 0; i < n; i++) {
  const reference = `A${i.toString(36).padStart(8, "0")}`
  const started = performance.now()
  const r = await pool.request({
    path: url.pathname,
    method: "POST",
    headers: {
      "content-type": "application/json;charset=utf-8",
      accept: "application/json",
      requestreference: reference,
      authorization
    },
    body: JSON.stringify({
      alias: process.env.STPP_USERNAME,
      version: "1.00",
      request: [{ ...item, sitereference: process.env.STPP_SITE_REFERENCE, requestreference: reference }]
    })
  })
  const answer = JSON.parse(await r.body.text()) as { requestreference: string }
  const ok = r.statusCode === 200 && answer.requestreference === reference
  process.stdout.write(
    `${JSON.stringify({ outcome: ok ? "ok" : "bad", elapsedMs: performance.now() - started, response: answer })}\n`
  )
}
await pool.close()
