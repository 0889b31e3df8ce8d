/**
 * Spans: whether anyone reads them (an application tracer, not Effect's
 * built-in one), and what a public operation's span says about its key —
 * a hash by default, the key itself when the application opts in with
 * `KonserveStore.TraceKeys`.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Tracer from "effect/Tracer"

/**
 * Whether the spans of public operations carry the key itself
 * (`konserve.key`) rather than its hash (`konserve.key.hash`). Off by
 * default: keys can be personal data. Re-exported as `KonserveStore.TraceKeys`.
 *
 * @internal
 */
export class TraceKeys extends Context.Reference<TraceKeys>()("konserve-dynamodb/TraceKeys", {
  defaultValue: () => false
}) {}

/** Effect's own tracer, there when the application installed none (spans it makes go nowhere). @internal */
export const nativeTracer: Tracer.Tracer = Effect.runSync(Effect.tracer)

/**
 * A stable 53-bit hash of a key as 14 hex digits (cyrb53): the same key
 * gives the same hash in every process, so traces of one key can be found
 * without the key in them.
 *
 * @internal
 */
export const keyHash = (key: string): string => {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, "0")
}

/**
 * What a public operation's first argument is: a key (`get`, `assoc`, ...),
 * a path whose first element is the key (`getIn`, ...), or many keys.
 *
 * @internal
 */
export type Subject = "key" | "path" | "keys"

/**
 * The attributes of a public operation's span, from its first argument:
 * the key's hash (or the key, with `traceKeys`), or how many keys.
 *
 * @internal
 */
export const operationAttributes = (
  subject: Subject,
  first: unknown,
  traceKeys: boolean
): Record<string, unknown> => {
  const key = subject === "key" ? first : subject === "path" && Array.isArray(first) ? first[0] : undefined
  if (typeof key === "string") return traceKeys ? { "konserve.key": key } : { "konserve.key.hash": keyHash(key) }
  if (subject === "keys" && Array.isArray(first)) return { "konserve.keys.count": first.length }
  return {}
}

/** `@effect/opentelemetry`'s span class carries this registered symbol and its OpenTelemetry span as `span`. */
const OtelSpanTypeId = Symbol.for("@effect/opentelemetry/Tracer/OtelSpan")

/**
 * Sets an array attribute on the current span so that OpenTelemetry receives
 * an array: `@effect/opentelemetry` turns an Effect attribute that is not a
 * string, number or boolean into a JSON string, while the semantic
 * conventions want `aws.dynamodb.table_names` as a string array. The Effect
 * span keeps the array; an OpenTelemetry span under it gets it natively.
 *
 * @internal
 */
export const arrayAttribute = (key: string, value: ReadonlyArray<string>): Effect.Effect<void> =>
  Effect.matchEffect(Effect.currentSpan, {
    onFailure: () => Effect.void,
    onSuccess: (span) =>
      Effect.sync(() => {
        if (!(OtelSpanTypeId in span)) return
        const otel = (span as unknown as { readonly span?: { readonly setAttribute?: unknown } }).span
        if (typeof otel?.setAttribute === "function") {
          ;(otel.setAttribute as (key: string, value: Array<string>) => void).call(otel, key, [...value])
        }
      })
  })
