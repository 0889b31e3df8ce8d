/**
 * The CLI's input and output: lines on stdout and stderr, byte streams from
 * files or stdin, sinks to files or stdout (with backpressure, so output of
 * any size takes bounded memory).
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import { FileError } from "./failure.js"
import * as NodeStream from "./nodeStream.js"

const codeOf = (error: unknown): string => {
  const code = (error as { readonly code?: unknown } | null)?.code
  return typeof code === "string" ? code : "EIO"
}

const messageOf = (error: unknown): string => error instanceof Error ? error.message : String(error)

/**
 * What a lone `-` argument becomes before `@effect/cli` parses the command
 * line (`main.ts`): its parser stops looking for options at an argument that
 * starts with `-`, so `import - --prefix p` lost `--prefix`. Where `-` means
 * stdin, `isStdin` takes both; anywhere else `literal` gives the `-` back.
 *
 * @internal
 */
export const STDIN = "\u0000-"

/** Whether an argument means stdin (`-`). @internal */
export const isStdin = (arg: string): boolean => arg === "-" || arg === STDIN

/** An argument as the user typed it. @internal */
export const literal = (arg: string): string => arg === STDIN ? "-" : arg

/** A Node.js I/O failure as a `FileError` for `path` ("-" for stdin/stdout). @internal */
export const fileError = (path: string) => (error: unknown): FileError =>
  new FileError({ path, code: codeOf(error), message: messageOf(error) })

/** Writes text to stdout. @internal */
export const out = (text: string): Effect.Effect<void> => Effect.sync(() => void process.stdout.write(text))

/** Writes a line to stdout. @internal */
export const line = (text: string): Effect.Effect<void> => out(text + "\n")

/** Writes a line to stderr. @internal */
export const errLine = (text: string): Effect.Effect<void> => Effect.sync(() => void process.stderr.write(text + "\n"))

/** Whether stderr is a terminal (progress bars) or not (plain lines). @internal */
export const stderrIsTTY = (): boolean => process.stderr.isTTY === true

let stdoutMustComplete = false

/**
 * Whether what went to stdout must arrive whole: once output went through
 * `stdoutSink` (`export`, `get`), a reader that goes away (EPIPE) fails the
 * command (exit 1) instead of ending it quietly with 0, as `keys | head`
 * does (`cli.ts`).
 *
 * @internal
 */
export const stdoutMustBeComplete = (): boolean => stdoutMustComplete

const stdoutError = (error: unknown): FileError => {
  const code = codeOf(error)
  return new FileError({
    path: "-",
    code,
    message: `stdout: ${messageOf(error)}${
      code === "EPIPE" ? " (its reader went away before the output was complete)" : ""
    }`
  })
}

/**
 * A sink to stdout, which it leaves open; done once what it wrote is flushed.
 * Output through it must arrive whole (`stdoutMustBeComplete`): a closed
 * stdout fails it with a `FileError` (EPIPE).
 *
 * @internal
 */
export const stdoutSink: Sink.Sink<void, string | Uint8Array, never, FileError> = Sink.suspend(() => {
  stdoutMustComplete = true
  return NodeStream.toWritable(() => process.stdout, stdoutError, { endOnDone: false })
})

/** Writes text or bytes to stdout through `stdoutSink`: done when flushed, failed when stdout is closed. @internal */
export const writeOut = (data: string | Uint8Array): Effect.Effect<void, FileError> =>
  Stream.run(Stream.succeed(data), stdoutSink)

/**
 * A sink to a new file (replaced if it exists), closed when the stream ends;
 * the file is complete when the sink is done.
 *
 * @internal
 */
export const fileSink = (path: string): Sink.Sink<void, string | Uint8Array, never, FileError> =>
  NodeStream.toWritable(() => Fs.createWriteStream(path), fileError(path))

/** The bytes of a file, or of stdin when `path` is "-". @internal */
export const readBytes = (path: string): Stream.Stream<Uint8Array, FileError> =>
  isStdin(path)
    ? NodeStream.fromReadable(() => process.stdin, fileError("-"), { closeOnDone: false })
    : NodeStream.fromReadable(() => Fs.createReadStream(path), fileError(path))

/** The size of a regular file; undefined for stdin, pipes and what cannot be stat'ed. @internal */
export const fileSize = (path: string): Effect.Effect<number | undefined> =>
  isStdin(path) ? Effect.succeed(undefined) : Effect.sync(() => {
    try {
      const stat = Fs.statSync(path)
      return stat.isFile() ? stat.size : undefined
    } catch {
      return undefined
    }
  })

/** Fails with a `FileError` unless `path` is a readable file (or "-"). @internal */
export const checkReadable = (path: string): Effect.Effect<void, FileError> =>
  isStdin(path) ? Effect.void : Effect.try({
    try: () => Fs.accessSync(path, Fs.constants.R_OK),
    catch: fileError(path)
  })

/** All the bytes of a file or of stdin ("-"). @internal */
export const readAllBytes = (path: string): Effect.Effect<Uint8Array, FileError> =>
  Effect.map(Stream.runCollect(readBytes(path)), (chunks) => {
    const all = new Uint8Array(Chunk.reduce(chunks, 0, (n, chunk) => n + chunk.byteLength))
    let offset = 0
    for (const chunk of chunks) {
      all.set(chunk, offset)
      offset += chunk.byteLength
    }
    return all
  })

/** The whole text of a file or of stdin ("-"), as UTF-8. @internal */
export const readText = (path: string): Effect.Effect<string, FileError> =>
  Stream.mkString(Stream.decodeText(readBytes(path)))
