/**
 * Reads a `.cpuprofile` (from `node --cpu-prof`) and prints where the time
 * went: the top functions by self time, and self time by origin (Effect, the
 * AWS SDK and Smithy, this library, Node's own, idle / GC).
 * `npx tsx bench/profile-summary.ts <file.cpuprofile> [top]`.
 */
import * as Fs from "node:fs"

interface Node {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<Node>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const file = process.argv[2]
const top = Number(process.argv[3] ?? 25)
/** Only functions of this origin in the top list (e.g. "effect"), when given. */
const only = process.argv[4]
const profile = JSON.parse(Fs.readFileSync(file, "utf8")) as Profile
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const self = new Map<number, number>()
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
const total = Array.from(self.values()).reduce((a, b) => a + b, 0)

const origin = (url: string, name: string): string => {
  if (url === "") return name === "(garbage collector)" ? "GC" : name.startsWith("(") ? name : "native"
  if (url.includes("/node_modules/effect/")) return "effect"
  if (url.includes("/node_modules/@aws-sdk/")) return "@aws-sdk"
  if (url.includes("/node_modules/@smithy/")) return "@smithy"
  if (url.includes("/node_modules/")) return url.replace(/.*\/node_modules\/((@[^/]+\/)?[^/]+).*/, "$1")
  if (url.includes("/src/")) return "konserve-dynamodb"
  if (url.startsWith("node:")) return "node"
  return "other"
}

const functions = new Map<string, number>()
const functionOrigin = new Map<string, string>()
const origins = new Map<string, number>()
for (const [id, micros] of self) {
  const { functionName, lineNumber, url } = byId.get(id)!.callFrame
  const where = url === "" ? "" : ` ${url.replace(/.*\/(node_modules\/|src\/|bench\/)/, "$1")}:${lineNumber + 1}`
  const name = `${functionName || "(anonymous)"}${where}`
  functions.set(name, (functions.get(name) ?? 0) + micros)
  const o = origin(url, functionName)
  functionOrigin.set(name, o)
  origins.set(o, (origins.get(o) ?? 0) + micros)
}
const pct = (micros: number) => `${(100 * micros / total).toFixed(1).padStart(5)}%`

const print = console.log
print(`${file}: ${(total / 1000).toFixed(0)} ms sampled`)
print("\nself time by origin:")
for (const [name, micros] of Array.from(origins).sort((a, b) => b[1] - a[1])) print(`  ${pct(micros)}  ${name}`)
print(`\ntop ${top} functions by self time${only === undefined ? "" : ` (${only})`}:`)
const listed = Array.from(functions).filter(([name]) => only === undefined || functionOrigin.get(name) === only)
for (const [name, micros] of listed.sort((a, b) => b[1] - a[1]).slice(0, top)) {
  print(`  ${pct(micros)}  ${name}`)
}
