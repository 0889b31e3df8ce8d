import { Buffer } from "node:buffer"

/**
 * Structural deep equality over the storable value domain, for tests.
 *
 * - Primitives compare with `Object.is`: `-0` differs from `0`, `NaN` equals
 *   `NaN`, `1` differs from `1n`.
 * - `Date`s compare by time (two invalid Dates are equal).
 * - `Uint8Array`s compare by bytes; a `Buffer` equals a `Uint8Array` with the
 *   same bytes (a Buffer is read back as a plain Uint8Array). Other typed
 *   arrays never equal a Uint8Array.
 * - Arrays compare element by element (a hole reads as `undefined`).
 * - Plain objects (prototype `Object.prototype` or `null`, both alike) compare
 *   their own enumerable string keys IN ORDER, then the values: `{ a, b }`
 *   differs from `{ b, a }`, and `{ u: undefined }` differs from `{}`.
 * - `Map`s compare by contents with structural keys (a key `{ a: 1 }` matches
 *   an equal but distinct `{ a: 1 }`), `Set`s by structural elements; order of
 *   entries is ignored.
 * - Anything else (class instances) is equal only to itself.
 */
export const deepEqual = (a: unknown, b: unknown): boolean => {
  if (Object.is(a, b)) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return isBytes(a) && isBytes(b) && bytesEqual(a, b)
  }
  const protoA: unknown = Object.getPrototypeOf(a)
  const protoB: unknown = Object.getPrototypeOf(b)
  if (isPlainProto(protoA) && isPlainProto(protoB)) {
    return recordsEqual(a as Record<string, unknown>, b as Record<string, unknown>)
  }
  if (protoA !== protoB) return false
  if (protoA === Array.prototype) {
    return arraysEqual(a as ReadonlyArray<unknown>, b as ReadonlyArray<unknown>)
  }
  if (protoA === Date.prototype) return Object.is((a as Date).getTime(), (b as Date).getTime())
  if (protoA === Map.prototype) return mapsEqual(a as ReadonlyMap<unknown, unknown>, b as ReadonlyMap<unknown, unknown>)
  if (protoA === Set.prototype) return setsEqual(a as ReadonlySet<unknown>, b as ReadonlySet<unknown>)
  return false
}

const isPlainProto = (proto: unknown): boolean => proto === Object.prototype || proto === null

/** A Uint8Array or a Buffer, not another typed array subclass. */
const isBytes = (u: object): u is Uint8Array => {
  const proto: unknown = Object.getPrototypeOf(u)
  return proto === Uint8Array.prototype || proto === Buffer.prototype
}

const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) {
    if (a[i] !== b[i]) return false
  }
  return true
}

const arraysEqual = (a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    if (!deepEqual(a[i], b[i])) return false
  }
  return true
}

const recordsEqual = (a: Record<string, unknown>, b: Record<string, unknown>): boolean => {
  const keysA = Object.keys(a)
  const keysB = Object.keys(b)
  if (keysA.length !== keysB.length) return false
  for (let i = 0; i < keysA.length; i++) {
    if (keysA[i] !== keysB[i]) return false
    if (!deepEqual(a[keysA[i]], b[keysB[i]])) return false
  }
  return true
}

/**
 * Greedy one-to-one matching of `a`'s items against `b`'s: correct because
 * `deepEqual` is an equivalence, so equivalent candidates are interchangeable.
 */
const matchAll = <A>(a: ReadonlyArray<A>, b: ReadonlyArray<A>, equal: (x: A, y: A) => boolean): boolean => {
  if (a.length !== b.length) return false
  const used = new Array<boolean>(b.length).fill(false)
  for (const x of a) {
    let found = false
    for (let j = 0; j < b.length; j++) {
      if (!used[j] && equal(x, b[j])) {
        used[j] = true
        found = true
        break
      }
    }
    if (!found) return false
  }
  return true
}

const mapsEqual = (a: ReadonlyMap<unknown, unknown>, b: ReadonlyMap<unknown, unknown>): boolean =>
  a.size === b.size &&
  matchAll(Array.from(a), Array.from(b), ([ka, va], [kb, vb]) => deepEqual(ka, kb) && deepEqual(va, vb))

const setsEqual = (a: ReadonlySet<unknown>, b: ReadonlySet<unknown>): boolean =>
  a.size === b.size && matchAll(Array.from(a), Array.from(b), deepEqual)
