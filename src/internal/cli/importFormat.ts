/**
 * Reading the export format (`exportFormat.ts` describes it): an export's
 * lines written into the store (`importLines` with `storeWriter`) or only
 * checked (`checkWriter`, `import --check`), one key at a time, streamed.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as KonserveError from "../../KonserveError.js"
import * as KonserveStore from "../../KonserveStore.js"
import { type Counts, emptyCounts, FORMAT, VERSION } from "./exportFormat.js"
import { FormatError } from "./failure.js"
import * as Render from "./render.js"

type JsonRecord = { readonly [key: string]: unknown }

/** One line at a time from a stream of lines, counting them. */
interface Reader<E> {
  /** The next non-blank line and its number; none at the end. */
  readonly next: Effect.Effect<Option.Option<readonly [string, number]>, E>
  /** How many lines were read. */
  readonly lines: () => number
}

const makeReader = <E>(lines: Stream.Stream<string, E>): Effect.Effect<Reader<E>, never, Scope.Scope> =>
  Effect.map(Stream.toPull(lines), (pull) => {
    let buffer: Chunk.Chunk<string> = Chunk.empty()
    let index = 0
    let number = 0
    let ended = false
    const next: Effect.Effect<Option.Option<readonly [string, number]>, E> = Effect.suspend(() => {
      while (index < buffer.length) {
        const text = Chunk.unsafeGet(buffer, index++)
        number++
        if (text.trim() !== "") return Effect.succeed(Option.some([text, number] as const))
      }
      if (ended) return Effect.succeed(Option.none())
      return Effect.matchEffect(pull, {
        onFailure: Option.match({
          onNone: () => {
            ended = true
            return Effect.succeed(Option.none())
          },
          onSome: Effect.fail
        }),
        onSuccess: (chunk) => {
          buffer = chunk
          index = 0
          return next
        }
      })
    })
    return { next, lines: () => number }
  })

const parseRecord = (text: string, number: number): Either.Either<JsonRecord, FormatError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return Either.left(
      new FormatError({ line: number, reason: `not JSON: ${error instanceof Error ? error.message : String(error)}` })
    )
  }
  if (
    typeof json !== "object" || json === null || Array.isArray(json) || typeof (json as JsonRecord).type !== "string"
  ) {
    return Either.left(new FormatError({ line: number, reason: "not a record: expected an object with a \"type\"" }))
  }
  return Either.right(json as JsonRecord)
}

const field = <A>(
  record: JsonRecord,
  name: string,
  number: number,
  what: string,
  is: (value: unknown) => value is A
): Effect.Effect<A, FormatError> =>
  is(record[name])
    ? Effect.succeed(record[name] as A)
    : Effect.fail(new FormatError({ line: number, reason: `${String(record.type)} record: "${name}" must be ${what}` }))

const isString = (value: unknown): value is string => typeof value === "string"
const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0

const decodeValue = (json: unknown, number: number, what: string): Effect.Effect<unknown, FormatError> =>
  Either.match(Render.decode(json), {
    onLeft: (reason) => Effect.fail(new FormatError({ line: number, reason: `${what}: ${reason}` })),
    onRight: Effect.succeed
  })

/**
 * A clock that stands at `millis` (sleeping as the live clock does). A write
 * with a TTL runs on it, so that the store's `now + ttl` is exactly the
 * exported `expiresAt`: the store takes `now` from the fiber's `Clock`.
 */
const clockAt = (millis: number): Clock.Clock => {
  const live = Clock.make()
  const nanos = BigInt(millis) * 1_000_000n
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => millis,
    currentTimeMillis: Effect.succeed(millis),
    unsafeCurrentTimeNanos: () => nanos,
    currentTimeNanos: Effect.succeed(nanos),
    sleep: (duration) => live.sleep(duration)
  }
}

/** A write of a record: with a TTL, on a clock standing at the `now` the TTL was computed from. */
const writing = <A, E, R>(write: Effect.Effect<A, E, R>, options: WriteOf): Effect.Effect<A, E, R> =>
  options.options.ttl === undefined ? write : Effect.withClock(write, clockAt(options.now))

/** The write options of a record and the `now` its TTL counts from. @internal */
export interface WriteOf {
  readonly options: KonserveStore.WriteOptions
  readonly now: number
}

/** The write options of a record: the remaining TTL (none: expired) and the user meta. */
const writeOptionsOf = (
  record: JsonRecord,
  number: number,
  now: number
): Effect.Effect<Option.Option<WriteOf>, FormatError> =>
  Effect.gen(function*() {
    let ttl: Duration.Duration | undefined
    if (record.expiresAt !== undefined && record.expiresAt !== null) {
      const expiresAt = typeof record.expiresAt === "string" ? Date.parse(record.expiresAt) : NaN
      if (Number.isNaN(expiresAt)) {
        return yield* new FormatError({ line: number, reason: "\"expiresAt\" must be an ISO 8601 date" })
      }
      if (expiresAt <= now) return Option.none()
      ttl = Duration.millis(expiresAt - now)
    }
    let meta: Readonly<Record<string, unknown>> | undefined
    if (record.meta !== undefined && record.meta !== null) {
      const decoded = yield* decodeValue(record.meta, number, "meta")
      if (typeof decoded !== "object" || decoded === null || Object.getPrototypeOf(decoded) !== Object.prototype) {
        return yield* new FormatError({ line: number, reason: "\"meta\" must be an object" })
      }
      meta = decoded as Readonly<Record<string, unknown>>
    }
    return Option.some({
      options: {
        ...(ttl === undefined ? {} : { ttl }),
        ...(meta === undefined ? {} : { meta })
      },
      now
    })
  })

/** What an import reports while it runs. @internal */
export interface ImportProgress {
  readonly counts: Counts
  readonly line: number
}

/**
 * Where an import puts a key once its record is complete: the store
 * (`storeWriter`), or nowhere (`checkWriter`, `import --check`).
 *
 * @internal
 */
export interface ImportWriter<R> {
  /** Writes a value record's value. */
  readonly value: (key: string, value: unknown, write: WriteOf) => Effect.Effect<void, KonserveError.KonserveError, R>
  /**
   * Writes a binary from its chunk records, streamed: `bytes` fails when the
   * file breaks before the binary's last byte, and then nothing is written.
   */
  readonly binary: <E>(
    key: string,
    bytes: Stream.Stream<Uint8Array, E>,
    write: WriteOf
  ) => Effect.Effect<void, E | KonserveError.KonserveError, R>
  /** Replaces a log with these elements (all of them read and decoded). */
  readonly log: (key: string, elements: ReadonlyArray<unknown>) => Effect.Effect<void, KonserveError.KonserveError, R>
  /** Removes a key whose record has expired since the export. */
  readonly remove: (key: string) => Effect.Effect<void, KonserveError.KonserveError, R>
}

/**
 * The store in context. A value is one `assoc`; a binary one `bassoc` fed
 * by the chunk records, which changes the key only when the stream ends
 * whole (a file cut inside it fails the stream, and `bassoc` leaves the key
 * as it was); a log is replaced only once every element of its record has
 * been read and decoded: removed, then appended element by element (the
 * public API has no write of a whole log, so a fault *during* those writes
 * can leave a shorter log: running the import again completes it).
 *
 * @internal
 */
export const storeWriter: ImportWriter<KonserveStore.KonserveStore> = {
  value: (key, value, write) => writing(KonserveStore.assoc(key, value, write.options), write),
  binary: (key, bytes, write) => writing(KonserveStore.bassoc(key, bytes, write.options), write),
  log: (key, elements) =>
    Effect.zipRight(
      KonserveStore.dissoc(key),
      Effect.forEach(elements, (element) => KonserveStore.append(key, element), { discard: true })
    ),
  remove: (key) => Effect.asVoid(KonserveStore.dissoc(key))
}

/**
 * Writes nothing: the whole file is read and checked as an import reads it,
 * for `import --check`.
 *
 * @internal
 */
export const checkWriter: ImportWriter<never> = {
  value: () => Effect.void,
  binary: (_key, bytes) => Stream.runDrain(bytes),
  log: () => Effect.void,
  remove: () => Effect.void
}

/**
 * Writes the records of an export, read from `lines`, with `writer` (the
 * store in context: `storeWriter`), one key at a time, as they come. A key
 * changes only once its record is complete: a value's line; a binary's
 * chunk records up to its `size`; a log's `count` elements, read and
 * decoded before the log is replaced. A key of the file overwrites the same
 * key of the store; other keys of the store stay. A key whose `expiresAt`
 * has passed is removed from the store (counted as `expired`), so that it
 * ends as the source was. A file that breaks the format, or ends before its
 * `end` record, fails with `FormatError` naming the line: the keys before
 * it are written, the key it broke and those after it are as they were, and
 * running the import again on the whole file completes it.
 *
 * @internal
 */
export const importLines = <E, R = KonserveStore.KonserveStore>(
  lines: Stream.Stream<string, E>,
  options: {
    readonly now: () => number
    readonly onProgress?: ((progress: ImportProgress) => Effect.Effect<void>) | undefined
    readonly writer?: ImportWriter<R>
  }
): Effect.Effect<Counts, E | FormatError | KonserveError.KonserveError, R | Scope.Scope> =>
  Effect.gen(function*() {
    const writer = (options.writer ?? storeWriter) as ImportWriter<R>
    const reader = yield* makeReader(lines)
    const counts = emptyCounts()
    const progress = (number: number) => options.onProgress?.({ counts, line: number }) ?? Effect.void

    const nextRecord = (
      inside: string
    ): Effect.Effect<readonly [JsonRecord, number], E | FormatError> =>
      Effect.flatMap(reader.next, (next) => {
        if (Option.isNone(next)) {
          return Effect.fail(
            new FormatError({ line: reader.lines() + 1, reason: `the file ends ${inside}: is it truncated?` })
          )
        }
        const [text, number] = next.value
        return Effect.map(parseRecord(text, number), (record) => [record, number] as const)
      })

    const expect = (record: JsonRecord, number: number, type: string, inside: string) =>
      record.type === type
        ? Effect.void
        : Effect.fail(
          new FormatError({ line: number, reason: `expected a ${type} record ${inside}, found ${String(record.type)}` })
        )

    /**
     * A key whose record is complete, counted: written with `write`, or
     * removed (after `drain`) when its `expiresAt` has passed.
     */
    const settle = <X>(
      key: string,
      writeOptions: Option.Option<WriteOf>,
      kind: "values" | "binaries" | "logs",
      write: (write: WriteOf) => Effect.Effect<void, X, R>,
      drain: Effect.Effect<void, X> = Effect.void
    ): Effect.Effect<void, X | KonserveError.KonserveError, R> =>
      Effect.suspend(() => {
        counts.keys++
        return Option.match(writeOptions, {
          onNone: () =>
            drain.pipe(
              Effect.zipRight(writer.remove(key)),
              Effect.tap(() => {
                counts.expired++
              })
            ),
          onSome: (options) =>
            Effect.tap(write(options), () => {
              counts[kind]++
            })
        })
      })

    // header
    const [header, headerLine] = yield* nextRecord("before its header")
    if (header.type !== "header" || header.format !== FORMAT) {
      return yield* new FormatError({ line: headerLine, reason: `not a ${FORMAT} file: its first record is no header` })
    }
    if (header.version !== VERSION) {
      return yield* new FormatError({
        line: headerLine,
        reason: `format version ${JSON.stringify(header.version)}; this version reads ${VERSION}`
      })
    }

    while (true) {
      const [record, number] = yield* nextRecord("before its end record")
      switch (record.type) {
        case "value": {
          const key = yield* field(record, "key", number, "a string", isString)
          const value = yield* decodeValue(record.value, number, `value of ${JSON.stringify(key)}`)
          const writeOptions = yield* writeOptionsOf(record, number, options.now())
          yield* settle(key, writeOptions, "values", (write) => writer.value(key, value, write))
          break
        }
        case "binary": {
          const key = yield* field(record, "key", number, "a string", isString)
          const size = yield* field(record, "size", number, "a byte count", isCount)
          const writeOptions = yield* writeOptionsOf(record, number, options.now())
          const inside = `inside binary ${JSON.stringify(key)}`
          let remaining = size
          const bytes: Stream.Stream<Uint8Array, E | FormatError> = Stream.repeatEffectOption(
            remaining === 0 ? Effect.fail(Option.none()) : Effect.suspend(() => {
              if (remaining === 0) return Effect.fail(Option.none())
              return nextRecord(inside).pipe(
                Effect.flatMap(([chunk, chunkLine]) =>
                  Effect.zipRight(
                    expect(chunk, chunkLine, "chunk", inside),
                    field(chunk, "bytes", chunkLine, "a base64 string", isString).pipe(
                      Effect.flatMap((text) => {
                        const piece = Render.fromBase64(text)
                        if (piece === undefined) {
                          return Effect.fail(
                            new FormatError({ line: chunkLine, reason: "chunk record: \"bytes\" is not base64" })
                          )
                        }
                        if (piece.byteLength > remaining) {
                          return Effect.fail(
                            new FormatError({ line: chunkLine, reason: `more bytes than the binary's size (${size})` })
                          )
                        }
                        remaining -= piece.byteLength
                        counts.binaryBytes += piece.byteLength
                        return Effect.as(progress(chunkLine), piece)
                      })
                    )
                  )
                ),
                Effect.mapError(Option.some)
              )
            })
          )
          yield* settle(
            key,
            writeOptions,
            "binaries",
            (write) =>
              Effect.zipRight(
                writer.binary(key, bytes, write),
                Effect.suspend(() =>
                  remaining === 0
                    ? Effect.void
                    : Effect.fail(
                      new FormatError({ line: number, reason: `binary ${JSON.stringify(key)}: bytes missing` })
                    )
                )
              ),
            Stream.runDrain(bytes)
          )
          break
        }
        case "log": {
          const key = yield* field(record, "key", number, "a string", isString)
          const count = yield* field(record, "count", number, "an element count", isCount)
          const writeOptions = yield* writeOptionsOf(record, number, options.now())
          const inside = `inside log ${JSON.stringify(key)}`
          // every element read and decoded before the log changes: bounded by the file's record
          const elements: Array<unknown> = []
          for (let i = 0; i < count; i++) {
            const [element, elementLine] = yield* nextRecord(inside)
            yield* expect(element, elementLine, "element", inside)
            elements.push(yield* decodeValue(element.value, elementLine, `element ${i} of ${JSON.stringify(key)}`))
          }
          yield* settle(key, writeOptions, "logs", () => writer.log(key, elements))
          break
        }
        case "end": {
          const keys = record.keys
          if (keys !== counts.keys) {
            return yield* new FormatError({
              line: number,
              reason: `the end record counts ${JSON.stringify(keys)} keys, the file holds ${counts.keys}`
            })
          }
          const after = yield* reader.next
          if (Option.isSome(after)) {
            return yield* new FormatError({ line: after.value[1], reason: "a record after the end record" })
          }
          return counts
        }
        default:
          return yield* new FormatError({
            line: number,
            reason: `unexpected record type ${JSON.stringify(record.type)} (expected value, binary, log or end)`
          })
      }
      yield* progress(number)
    }
  })
