/**
 * A deep copy of a value of the storable domain (plain objects, arrays,
 * `Map`, `Set`, `Date`, `Uint8Array`, primitives): what the cache hands out
 * on every hit, so that a caller who changes the value it read changes
 * neither the cache nor another caller's value — as the store itself gives a
 * fresh value on every read. Several times cheaper than `structuredClone`
 * or decoding the stored bytes again (docs/benchmarks.md).
 *
 * @internal
 */

/** @internal */
export const copy = (value: unknown): unknown => {
  if (typeof value !== "object" || value === null) return value
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length)
    for (let i = 0; i < value.length; i++) out[i] = copy(value[i])
    return out
  }
  if (value instanceof Uint8Array) return value.slice()
  if (value instanceof Date) return new Date(value.getTime())
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>()
    for (const [k, v] of value) out.set(copy(k), copy(v))
    return out
  }
  if (value instanceof Set) {
    const out = new Set<unknown>()
    for (const v of value) out.add(copy(v))
    return out
  }
  // A plain object (the domain has no others; "__proto__" is not a storable property).
  const source = value as Record<string, unknown>
  const out: Record<string, unknown> = Object.getPrototypeOf(value) === null ? Object.create(null) : {}
  for (const key of Object.keys(source)) out[key] = copy(source[key])
  return out
}
