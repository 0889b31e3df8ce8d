/**
 * Encoded values that no store writes and that cost far more to decode than
 * their size: for tests that reads stay linear in the stored bytes.
 */

/**
 * `levels` levels of CBOR shared references (tags 28/29): level k is a pair of
 * level k + 1 and a reference to it, so the bytes grow by 6 a level and the
 * tree they stand for doubles. Behind the codec's 4-byte header (no compression).
 */
export const sharedPairs = (levels: number): Uint8Array => {
  const out: Array<number> = [1, 1, 0, 0]
  const id = (n: number) => n < 24 ? [n] : [0x18, n]
  for (let k = 0; k < levels; k++) out.push(0xd8, 0x1c, 0x82)
  out.push(0xd8, 0x1c, 0x80)
  for (let k = levels - 1; k >= 0; k--) out.push(0xd8, 0x1d, ...id(k + 1))
  return Uint8Array.from(out)
}
