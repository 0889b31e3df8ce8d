/**
 * Keys as lines of text, both ways: how `keys` (and `gc`) print a key, and
 * how `gc --keep FILE` reads one back. `gc` removes every key its keep file
 * does not name, so a line read as another key than the one it was written
 * for loses data: the reader takes a line only when it can say for sure
 * which key it means, and refuses the file otherwise.
 *
 * - A **plain** key is printed as it is: it is not empty, does not start
 *   with `"` or `{`, does not start or end with whitespace, and holds no
 *   control character (C0, DEL, C1), no line or paragraph separator
 *   (U+2028, U+2029) and no byte order mark (U+FEFF).
 * - Any other key is printed as a JSON string (`"\"a\""`, `"line1\nline2"`),
 *   with DEL, C1, U+2028, U+2029 and U+FEFF escaped too, so that the line is
 *   ASCII-safe where the key is odd.
 *
 * A keep file holds one key a line (lines end with `\n`; empty lines are
 * ignored; a byte order mark at the start of the file is dropped):
 *
 * - a line that starts with `"` is a JSON string: the key;
 * - a line that starts with `{` is a JSON object with a string `key` (a line
 *   of `keys --json`): its `key`;
 * - any other line is the key itself when it is plain (above);
 * - anything else — a line that is not valid JSON where JSON is due, a line
 *   with a carriage return (a file with CRLF line ends), a tab or another
 *   control character, leading or trailing whitespace, a line of only
 *   whitespace — and a file that is not UTF-8 is refused, naming the line.
 *
 * So every line `keys` or `keys --json` prints reads back as its key.
 *
 * @internal
 */
import * as Either from "effect/Either"

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/

const UNESCAPED = /[\u007f-\u009f\u2028\u2029\ufeff]/g

/**
 * Whether a key is printed as it is (else as a JSON string).
 *
 * @internal
 */
export const isPlain = (key: string): boolean =>
  key.length > 0 &&
  !key.startsWith("\"") &&
  !key.startsWith("{") &&
  key.trim() === key &&
  !UNSAFE.test(key) &&
  key.isWellFormed()

/**
 * A key as JSON string text, with the characters JSON leaves as they are but
 * terminals and editors do not (DEL, C1, U+2028, U+2029, U+FEFF) escaped.
 *
 * @internal
 */
export const quote = (key: string): string =>
  JSON.stringify(key).replace(UNESCAPED, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

/**
 * A key as one line of `keys` (without the newline): as it is when plain,
 * else as a JSON string.
 *
 * @internal
 */
export const render = (key: string): string => isPlain(key) ? key : quote(key)

/** Why a line of a keep file cannot be read. @internal */
export interface LineError {
  readonly line: number
  readonly reason: string
}

const why = (line: string): string => {
  if (line.endsWith("\r")) return "it ends with a carriage return (a file with CRLF line ends?)"
  if (line.trim() === "") return "it is only whitespace"
  if (line.trim() !== line) return "it starts or ends with whitespace"
  return "it holds a control character, a line separator or a byte order mark"
}

const HINT = "; write such a key as a JSON string (as `keys` prints it), or use the lines of `keys --json`"

/**
 * The key of one line of a keep file, or why it is refused.
 *
 * @internal
 */
export const parseLine = (line: string): Either.Either<string, string> => {
  if (line.startsWith("\"") || line.startsWith("{")) {
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch (error) {
      return Either.left(`not JSON: ${error instanceof Error ? error.message : String(error)}`)
    }
    if (typeof parsed === "string") return Either.right(parsed)
    if (
      typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) &&
      typeof (parsed as { readonly key?: unknown }).key === "string"
    ) {
      return Either.right((parsed as { readonly key: string }).key)
    }
    return Either.left("a line that starts with { must be a JSON object with a string \"key\" (a line of keys --json)")
  }
  return isPlain(line) ? Either.right(line) : Either.left(`not read as a key: ${why(line)}${HINT}`)
}

/**
 * The keys of a keep file's bytes (UTF-8), or the first line that cannot be
 * read unambiguously.
 *
 * @internal
 */
export const parseKeepFile = (bytes: Uint8Array): Either.Either<ReadonlySet<string>, LineError> => {
  // fatal: bytes that are not UTF-8 are refused, not replaced by U+FFFD; a BOM is dropped at the file's start only
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0
  const keep = new Set<string>()
  let start = bom
  for (let number = 1; start <= bytes.length; number++) {
    const newline = bytes.indexOf(0x0a, start)
    const end = newline === -1 ? bytes.length : newline
    let line: string
    try {
      line = decoder.decode(bytes.subarray(start, end))
    } catch {
      return Either.left({ line: number, reason: "not UTF-8" })
    }
    start = end + 1
    if (line === "") continue
    const key = parseLine(line)
    if (Either.isLeft(key)) return Either.left({ line: number, reason: key.left })
    keep.add(key.right)
  }
  return Either.right(keep)
}
