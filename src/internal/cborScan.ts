/**
 * A pass over a CBOR body before cbor-x decodes it: only the items this
 * library writes, every count within the bytes left. What it lets through
 * decodes to a tree whose size is bounded by the bytes (docs/values.md,
 * "Decoding is linear").
 *
 * cbor-x also reads extensions this library never writes, and some of them
 * decode to a graph or a table that a few bytes reference many times: shared
 * references (tags 28/29) — 24 levels of pairs referring to the previous
 * level are 153 bytes and 2^24 nodes once walked as a tree —, packed values
 * (tags 51 and 6, simple values), record definitions and bundled strings
 * (tags 105, 0xdff9 and up), string references (tags 25/256). Those are
 * refused here, in one linear pass without recursion or allocation per item.
 *
 * @internal
 */

/**
 * The tags this library writes: 0 (a date as text, for far dates), 1 (epoch
 * seconds), 2/3 (bignums), 258 (a Set), 259 (a Map with keys of any kind).
 *
 * @internal
 */
export const WRITTEN_TAGS: ReadonlySet<number> = new Set([0, 1, 2, 3, 258, 259])

/** Where a level's item count is open-ended (an indefinite-length array, map or string). */
const INDEFINITE = -1

/**
 * Why a CBOR body holds something this library never writes, or a count the
 * bytes cannot hold; undefined when it holds only what `encode` writes.
 * Truncation and other malformations cbor-x reports itself are left to it
 * when the pass cannot go on (the reason then names the offset).
 *
 * @internal
 */
export const scan = (body: Uint8Array): string | undefined => {
  const end = body.length
  let at = 0
  // Items still to read at each open level (INDEFINITE: until a break); the root is one item.
  const pending: Array<number> = [1]
  while (pending.length > 0) {
    const top = pending.length - 1
    if (pending[top] === 0) {
      pending.pop()
      continue
    }
    if (at >= end) return `truncated at byte ${at}`
    const start = at
    const initial = body[at++]
    if (initial === 0xff) {
      if (pending[top] !== INDEFINITE) return `a break code at byte ${start} outside an indefinite-length item`
      pending.pop()
      continue
    }
    if (pending[top] !== INDEFINITE) pending[top]--
    const major = initial >> 5
    const info = initial & 0x1f
    let argument: number
    if (info < 24) {
      argument = info
    } else if (info <= 27) {
      const size = 1 << (info - 24)
      if (at + size > end) return `truncated at byte ${at}`
      argument = 0
      // Past 2^53 the number is approximate, which only matters compared with the bytes left: it is far more.
      for (let i = 0; i < size; i++) argument = argument * 256 + body[at + i]
      at += size
    } else if (info === 31 && major >= 2 && major <= 5) {
      argument = INDEFINITE
    } else {
      return `a reserved CBOR header 0x${initial.toString(16)} at byte ${start}`
    }
    const left = end - at
    switch (major) {
      case 0:
      case 1:
        break
      case 2:
      case 3:
        if (argument === INDEFINITE) pending.push(INDEFINITE)
        else if (argument > left) return `a string of ${argument} bytes at byte ${at}, with ${left} bytes left`
        else at += argument
        break
      case 4:
        if (argument === INDEFINITE) pending.push(INDEFINITE)
        else if (argument > left) return `an array of ${argument} items at byte ${at}, with ${left} bytes left`
        else pending.push(argument)
        break
      case 5:
        if (argument === INDEFINITE) pending.push(INDEFINITE)
        else if (argument * 2 > left) return `a map of ${argument} entries at byte ${at}, with ${left} bytes left`
        else pending.push(argument * 2)
        break
      case 6:
        if (!WRITTEN_TAGS.has(argument)) {
          return argument === 28 || argument === 29
            ? `a CBOR shared reference (tag ${argument}), which this library never writes`
            : `a CBOR tag ${argument}, which this library never writes`
        }
        pending.push(1)
        break
      default:
        // false, true, null, undefined and the floats; other simple values are packed-value references.
        if (info < 20 || info === 24) return `a CBOR simple value at byte ${start}, which this library never writes`
    }
  }
  return at === end ? undefined : `${end - at} bytes after the value`
}
