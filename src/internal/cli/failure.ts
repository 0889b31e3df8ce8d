/**
 * The CLI's own failures, the exit codes, and every failure as one line on
 * stderr.
 *
 * | exit | meaning |
 * |---|---|
 * | 0 | done |
 * | 1 | failed (a store error, a file error, a bad export or keep file, stdout closed before the end of an export or a `get`, DynamoDB Local not starting) |
 * | 2 | usage error (unknown command or flag, a missing or malformed argument) |
 * | 3 | not found (`get` of a missing key; `rm` of a missing key without `--force`) |
 * | 130 | interrupted (Ctrl-C, SIGTERM) |
 *
 * @internal
 */
import * as Data from "effect/Data"

/** @internal */
export const EXIT_OK = 0
/** @internal */
export const EXIT_FAILURE = 1
/** @internal */
export const EXIT_USAGE = 2
/** @internal */
export const EXIT_NOT_FOUND = 3
/** @internal */
export const EXIT_INTERRUPTED = 130

/** A bad argument or flag, found by the CLI itself (exit 2). @internal */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** A key that is not there (exit 3). @internal */
export class NotFound extends Data.TaggedError("NotFound")<{ readonly keys: ReadonlyArray<string> }> {
  override get message(): string {
    return this.keys.length === 1
      ? `key ${JSON.stringify(this.keys[0])} not found`
      : `keys not found: ${this.keys.map((key) => JSON.stringify(key)).join(", ")}`
  }
}

/** A file or stream that could not be read or written (exit 1). @internal */
export class FileError extends Data.TaggedError("FileError")<{
  readonly path: string
  readonly code: string
  readonly message: string
}> {}

/** An export file that does not follow the format (exit 1). @internal */
export class FormatError extends Data.TaggedError("FormatError")<{
  readonly line: number
  readonly reason: string
}> {
  override get message(): string {
    return `line ${this.line}: ${this.reason}`
  }
}

/**
 * A line of a `gc --keep` file that cannot be read as one key for sure
 * (exit 1): `gc` removes every key the file does not name, so it refuses the
 * file rather than guess.
 *
 * @internal
 */
export class KeepFileError extends Data.TaggedError("KeepFileError")<{
  readonly path: string
  readonly line: number
  readonly reason: string
}> {
  override get message(): string {
    return `--keep ${this.path}: line ${this.line}: ${this.reason}; nothing was removed`
  }
}

/** A failure that was reported: the program ends with this exit code. @internal */
export class Exit extends Data.TaggedError("Exit")<{ readonly code: number }> {}

/** What is printed of a failure. @internal */
export interface Report {
  readonly tag: string
  readonly code: string | undefined
  readonly message: string
  readonly exitCode: number
}

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, " ").trim()

const stringField = (error: object, field: string): string | undefined => {
  const value: unknown = (error as Record<string, unknown>)[field]
  return typeof value === "string" ? value : undefined
}

/**
 * What to print of any failure: its `_tag`, its `code` (a `DynamoDBError`'s,
 * a `FileError`'s), its message on one line, and the exit code.
 *
 * @internal
 */
export const reportOf = (error: unknown): Report => {
  if (typeof error === "object" && error !== null) {
    const tag = stringField(error, "_tag") ?? (error instanceof Error ? error.name : "Error")
    const code = stringField(error, "code")
    if (tag === "DynamoDBError" && code === "InvalidConfiguration") {
      // the store's configuration comes from the flags: a mistake in them is a usage error, said as the flag
      const message = (stringField(error, "message") ?? "").split("\n").map((line) =>
        line.replace(/^(table|prefix|region|endpoint)\b/, "--$1")
      ).join("; ")
      return { tag: "UsageError", code: undefined, message: oneLine(message), exitCode: EXIT_USAGE }
    }
    const message = oneLine(stringField(error, "message") ?? String(error))
    const exitCode = tag === "UsageError" ? EXIT_USAGE : tag === "NotFound" ? EXIT_NOT_FOUND : EXIT_FAILURE
    const hint = tag === "StoreNotFound" ? " (of the commands, only put and import create a missing table)" : ""
    return { tag, code, message: message + hint, exitCode }
  }
  return { tag: "Error", code: undefined, message: oneLine(String(error)), exitCode: EXIT_FAILURE }
}

/**
 * The line on stderr: `konserve-dynamodb: DynamoDBError (ECONNREFUSED): <message>`,
 * or with `--json` one JSON object `{"error":{"_tag":...,"code":...,"message":...}}`.
 *
 * @internal
 */
export const renderReport = (report: Report, json: boolean): string =>
  json
    ? JSON.stringify({
      error: {
        _tag: report.tag,
        ...(report.code === undefined ? {} : { code: report.code }),
        message: report.message,
        exitCode: report.exitCode
      }
    })
    : `konserve-dynamodb: ${report.tag}${report.code === undefined ? "" : ` (${report.code})`}: ${report.message}`
