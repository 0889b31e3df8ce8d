/**
 * The commands of the `konserve-dynamodb` CLI, each on the public API only:
 * `keys`, `get`, `put`, `rm`, `stat`, `export`, `import`, `sweep`, `gc`.
 *
 * Every command takes the store flags (`target.ts`); data goes to stdout,
 * progress and failures to stderr; `--json` makes the output one JSON
 * document (or JSON Lines for `keys`) and failures a JSON object.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as DynamoDBStore from "../../DynamoDBStore.js"
import * as KonserveStore from "../../KonserveStore.js"
import * as ExportFormat from "./exportFormat.js"
import { Exit, FileError, KeepFileError, NotFound, renderReport, reportOf, UsageError } from "./failure.js"
import * as Io from "./io.js"
import * as KeyLines from "./keyLines.js"
import * as Progress from "./progress.js"
import * as Render from "./render.js"
import * as Target from "./target.js"
import { watch } from "./watch.js"

// -----------------------------------------------------------------------------
// shared
// -----------------------------------------------------------------------------

const json = Options.boolean("json").pipe(
  Options.withDescription("Machine-readable output: JSON on stdout, failures as one JSON object on stderr.")
)

const optionalText = (name: string, placeholder: string, description: string) =>
  Options.optional(
    Options.text(name).pipe(Options.withPseudoName(placeholder), Options.withDescription(description))
  )

/**
 * Runs a command's program: scoped, failures and defects reported as one line
 * on stderr (JSON with `--json`), then the program ends with `Exit(code)`.
 */
const handle = <E>(asJson: boolean, program: Effect.Effect<void, E, Scope.Scope>): Effect.Effect<void, Exit> =>
  Effect.scoped(program).pipe(
    Effect.catchAllCause((cause) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
      const failure = Cause.failureOption(cause)
      const report = Option.isSome(failure)
        ? reportOf(failure.value)
        : { ...reportOf(Cause.squash(cause)), tag: "Defect" }
      return Effect.zipRight(Io.errLine(renderReport(report, asJson)), Effect.fail(new Exit({ code: report.exitCode })))
    })
  )

/** The store of the flags, provided to `program`. */
const withStore = <A, E>(
  flags: Target.Flags,
  options: { readonly create: boolean },
  program: (target: Target.Target) => Effect.Effect<A, E, KonserveStore.KonserveStore | Scope.Scope>
) => Effect.flatMap(Target.resolve(flags, options), (target) => Effect.provide(program(target), Target.layer(target)))

/**
 * A duration of 0 or more ("30 minutes", "2 days"). Effect's own parser takes
 * "-30 days" as zero: a negative duration is refused here instead (it would
 * make `gc --older-than` reach up to now, `sweep --grace` 0).
 */
const parseDuration = (text: string, flag: string): Effect.Effect<Duration.Duration, UsageError> => {
  const trimmed = text.trim()
  const duration = Duration.decodeUnknown(trimmed)
  if (Option.isSome(duration) && trimmed.startsWith("-")) {
    return Effect.fail(
      new UsageError({
        message: `${flag}: ${JSON.stringify(text)} is negative (a duration is 0 or more: "30 minutes")`
      })
    )
  }
  if (Option.isNone(duration) || !Duration.isFinite(duration.value)) {
    return Effect.fail(
      new UsageError({ message: `${flag}: ${JSON.stringify(text)} is not a duration (e.g. "30 minutes", "2 days")` })
    )
  }
  return Effect.succeed(duration.value)
}

const parseTagged = (text: string, what: string): Effect.Effect<unknown, UsageError> =>
  Either.match(Render.parse(text), {
    onLeft: (reason) => Effect.fail(new UsageError({ message: `${what}: ${reason}` })),
    onRight: Effect.succeed
  })

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`

// -----------------------------------------------------------------------------
// keys
// -----------------------------------------------------------------------------

const keys = Command.make(
  "keys",
  {
    ...Target.flags,
    startsWith: optionalText("starts-with", "TEXT", "Only the keys that start with this text."),
    long: Options.boolean("long").pipe(
      Options.withAlias("l"),
      Options.withDescription("Kind, size (bytes; elements for a log), last write and expiry of each key.")
    ),
    json
  },
  (flags) =>
    handle(
      flags.json,
      withStore(flags, { create: false }, () => {
        const startsWith = Option.getOrUndefined(Option.map(flags.startsWith, Io.literal))
        const listed = startsWith === undefined
          ? KonserveStore.keys
          : Stream.filter(KonserveStore.keys, (meta) => meta.key.startsWith(startsWith))
        const row = flags.json
          ? (meta: KonserveStore.Meta) => JSON.stringify(Render.metaJson(meta))
          : flags.long
          ? Render.longRow
          : (meta: KonserveStore.Meta) => KeyLines.render(meta.key)
        return Effect.zipRight(
          flags.long && !flags.json ? Io.line(Render.LONG_HEADER) : Effect.void,
          Stream.runForEach(listed, (meta) => Io.line(row(meta)))
        )
      })
    )
).pipe(Command.withDescription("List the keys of the store (in the table's order; pipe through sort)."))

// -----------------------------------------------------------------------------
// get
// -----------------------------------------------------------------------------

/** Base64 of a byte stream, in pieces whose concatenation is the base64 of all the bytes. */
const base64Stream = <E>(bytes: Stream.Stream<Uint8Array, E>): Stream.Stream<string, E> => {
  let carry = new Uint8Array(0)
  return Stream.concat(
    Stream.map(bytes, (chunk) => {
      const all = new Uint8Array(carry.byteLength + chunk.byteLength)
      all.set(carry, 0)
      all.set(chunk, carry.byteLength)
      const whole = all.byteLength - (all.byteLength % 3)
      carry = all.slice(whole)
      return Render.toBase64(all.subarray(0, whole))
    }),
    Stream.suspend(() => Stream.succeed(Render.toBase64(carry)))
  )
}

const get = Command.make(
  "get",
  {
    ...Target.flags,
    key: Args.text({ name: "KEY" }).pipe(Args.withDescription("The key.")),
    raw: Options.boolean("raw").pipe(
      Options.withDescription(
        "The bytes of a binary (or of a Uint8Array value) to stdout as they are; a string value as its text."
      )
    ),
    json
  },
  (flags) =>
    handle(
      flags.json,
      withStore(flags, { create: false }, () =>
        Effect.gen(function*() {
          const key = Io.literal(flags.key)
          const notFound = new NotFound({ keys: [key] })
          const meta = yield* KonserveStore.getMeta(key)
          if (Option.isNone(meta)) return yield* notFound
          // through the stdout sink: a reader that goes away before the end fails the command
          const render = (value: unknown): Effect.Effect<void, FileError> => {
            if (flags.raw && (value instanceof Uint8Array || typeof value === "string")) return Io.writeOut(value)
            return Io.writeOut(Render.stringify(value, { pretty: !flags.json && !flags.raw }) + "\n")
          }
          switch (meta.value.type) {
            case "binary": {
              const binary = yield* KonserveStore.bget(key)
              if (Option.isNone(binary)) return yield* notFound
              if (flags.raw) return yield* Stream.run(binary.value.stream, Io.stdoutSink)
              return yield* Stream.run(
                Stream.concat(
                  Stream.concat(Stream.succeed("{\"$bytes\":\""), base64Stream(binary.value.stream)),
                  Stream.succeed("\"}\n")
                ),
                Io.stdoutSink
              )
            }
            case "log": {
              const elements = yield* KonserveStore.log(key)
              if (Option.isNone(elements)) return yield* notFound
              return yield* render(elements.value)
            }
            case "value": {
              const value = yield* KonserveStore.get(key)
              if (Option.isNone(value)) return yield* notFound
              return yield* render(value.value)
            }
          }
        }))
    )
).pipe(
  Command.withDescription(
    "Print the value of a key as JSON (bigint, Date, Map, Set, bytes in tagged form: see docs/cli.md); " +
      "a log as the array of its elements. Exit 3 when the key does not exist."
  )
)

// -----------------------------------------------------------------------------
// put
// -----------------------------------------------------------------------------

const put = Command.make(
  "put",
  {
    ...Target.flags,
    key: Args.text({ name: "KEY" }).pipe(Args.withDescription("The key.")),
    value: Args.text({ name: "VALUE" }).pipe(
      Args.withDescription("The value: a string, or JSON with --json; - reads it from stdin."),
      Args.optional
    ),
    json: Options.boolean("json").pipe(
      Options.withDescription("Parse the value as JSON (tagged JSON for bigint, Date, Map, Set, bytes).")
    ),
    binary: optionalText("binary", "FILE", "Store the bytes of this file (- for stdin) as a binary, streamed."),
    ttl: optionalText("ttl", "DURATION", "Expire the key after this long (\"30 minutes\", \"7 days\")."),
    meta: optionalText("meta", "JSON", "User metadata: a JSON object (tagged JSON).")
  },
  (flags) =>
    handle(
      false,
      Effect.gen(function*() {
        const ttl = Option.isSome(flags.ttl) ? yield* parseDuration(flags.ttl.value, "--ttl") : undefined
        const meta = Option.isSome(flags.meta) ? yield* parseTagged(flags.meta.value, "--meta") : undefined
        if (
          meta !== undefined &&
          (typeof meta !== "object" || meta === null || Object.getPrototypeOf(meta) !== Object.prototype)
        ) {
          return yield* new UsageError({ message: "--meta: expected a JSON object" })
        }
        const options: KonserveStore.WriteOptions = {
          ...(ttl === undefined ? {} : { ttl }),
          ...(meta === undefined ? {} : { meta: meta as Readonly<Record<string, unknown>> })
        }
        if (Option.isSome(flags.binary)) {
          if (Option.isSome(flags.value) || flags.json) {
            return yield* new UsageError({ message: "--binary FILE takes no VALUE and no --json" })
          }
          const path = flags.binary.value
          yield* Io.checkReadable(path)
          return yield* withStore(
            flags,
            { create: true },
            () => KonserveStore.bassoc(Io.literal(flags.key), Io.readBytes(path), options)
          )
        }
        if (Option.isNone(flags.value)) {
          return yield* new UsageError({ message: "put needs a VALUE (or - for stdin, or --binary FILE)" })
        }
        const text = Io.isStdin(flags.value.value) ? yield* Io.readText("-") : flags.value.value
        const value = flags.json ? yield* parseTagged(text, "VALUE") : text
        return yield* withStore(
          flags,
          { create: true },
          () => KonserveStore.assoc(Io.literal(flags.key), value, options)
        )
      })
    )
).pipe(
  Command.withDescription(
    "Store a value: a string, JSON with --json, or a file's bytes with --binary. Creates the table when missing."
  )
)

// -----------------------------------------------------------------------------
// rm
// -----------------------------------------------------------------------------

const rm = Command.make(
  "rm",
  {
    ...Target.flags,
    keys: Args.text({ name: "KEY" }).pipe(Args.withDescription("The keys to remove."), Args.atLeast(1)),
    force: Options.boolean("force").pipe(
      Options.withAlias("f"),
      Options.withDescription("Exit 0 also when a key did not exist.")
    ),
    json
  },
  (flags) =>
    handle(
      flags.json,
      withStore(flags, { create: false }, () =>
        Effect.gen(function*() {
          const removed = yield* KonserveStore.multiDissoc(new Set(flags.keys.map(Io.literal)), { atomic: false })
          const missing = Array.from(removed).filter(([, existed]) => !existed).map(([key]) => key)
          if (flags.json) {
            yield* Io.line(JSON.stringify({
              removed: Array.from(removed).filter(([, existed]) => existed).map(([key]) => key),
              missing
            }))
          }
          if (missing.length > 0 && !flags.force) return yield* new NotFound({ keys: missing })
        }))
    )
).pipe(
  Command.withDescription(
    "Remove keys of any kind. Exit 3 when one of them did not exist (the others are removed), unless --force."
  )
)

// -----------------------------------------------------------------------------
// stat
// -----------------------------------------------------------------------------

interface KeyStats {
  keys: number
  values: number
  binaries: number
  logs: number
  bytes: number
  logElements: number
  expiring: number
}

const stat = Command.make(
  "stat",
  {
    ...Target.flags,
    grace: optionalText(
      "grace",
      "DURATION",
      "Items younger than this do not count as unreferenced (default \"1 hour\")."
    ),
    json
  },
  (flags) =>
    handle(
      flags.json,
      // a bad --grace before the store is opened (parsed again below: it is pure)
      Effect.zipRight(
        Option.isSome(flags.grace) ? parseDuration(flags.grace.value, "--grace") : Effect.void,
        withStore(flags, { create: false }, (target) =>
          Effect.gen(function*() {
            const grace = Option.isSome(flags.grace) ? yield* parseDuration(flags.grace.value, "--grace") : undefined
            const tty = Io.stderrIsTTY()
            const stats: KeyStats = { keys: 0, values: 0, binaries: 0, logs: 0, bytes: 0, logElements: 0, expiring: 0 }
            const listing = yield* Progress.make("stat: keys", { tty })
            yield* Stream.runForEach(KonserveStore.keys, (meta) => {
              stats.keys++
              if (meta.expiresAt !== undefined) stats.expiring++
              switch (meta.type) {
                case "value":
                  stats.values++
                  stats.bytes += meta.size
                  break
                case "binary":
                  stats.binaries++
                  stats.bytes += meta.size
                  break
                case "log":
                  stats.logs++
                  stats.logElements += meta.size
                  break
              }
              return listing.update(() => `${plural(stats.keys, "key")}, ${Render.bytes(stats.bytes)}`)
            })
            yield* listing.done
            const scanning = yield* Progress.make("stat: items", { tty })
            const swept = yield* DynamoDBStore.sweep(target.config, {
              dryRun: true,
              ...(grace === undefined ? {} : { grace })
            })
              .pipe(
                Stream.tap((progress) => scanning.update(() => `${plural(progress.scanned, "item")}`)),
                Stream.runLast
              )
            yield* scanning.done
            const stream = yield* DynamoDBStore.hasStream(target.config)
            const items = Option.match(swept, { onNone: () => 0, onSome: (p) => p.scanned })
            const unreferenced = Option.match(swept, { onNone: () => 0, onSome: (p) => p.unreferenced })
            const graceText = grace === undefined ? "1 hour" : Duration.format(grace)
            if (flags.json) {
              return yield* Io.line(JSON.stringify({
                table: target.config.table,
                prefix: target.config.prefix ?? null,
                ...stats,
                items,
                unreferenced,
                stream,
                graceMillis: grace === undefined ? 3_600_000 : Duration.toMillis(grace)
              }))
            }
            yield* Io.line(
              [
                `store         ${target.label}`,
                `keys          ${stats.keys} (${plural(stats.values, "value")}, ${
                  stats.binaries === 1 ? "1 binary" : `${stats.binaries} binaries`
                }, ${plural(stats.logs, "log")}; ${stats.expiring} with a TTL)`,
                `bytes         ${stats.bytes} (${Render.bytes(stats.bytes)}) in values and binaries, encoded`,
                `log elements  ${stats.logElements}`,
                `items         ${items} DynamoDB items (heads, chunks, log elements, bookkeeping)`,
                `unreferenced  ${unreferenced} items older than ${graceText} (\`sweep\` removes them)`,
                `stream        ${
                  stream ? "on (`watch` reads the change feed)" : "off (no change feed: open a store with stream: true)"
                }`
              ].join("\n")
            )
          }))
      )
    )
).pipe(
  Command.withDescription(
    "Count the keys, their bytes, the store's DynamoDB items and the unreferenced ones (a sweep --dry-run)."
  )
)

// -----------------------------------------------------------------------------
// export
// -----------------------------------------------------------------------------

const exportCommand = Command.make(
  "export",
  {
    ...Target.flags,
    out: optionalText(
      "out",
      "FILE",
      "Write to this file (written as FILE.partial, renamed when complete); else stdout."
    ).pipe(
      Options.withAlias("o")
    ),
    startsWith: optionalText("starts-with", "TEXT", "Only the keys that start with this text."),
    json
  },
  (flags) =>
    handle(
      flags.json,
      withStore(flags, { create: false }, (target) =>
        Effect.gen(function*() {
          const counts = ExportFormat.emptyCounts()
          const start = Date.now()
          const progress = yield* Progress.make("export", { tty: Io.stderrIsTTY() })
          const startsWith = Option.getOrUndefined(Option.map(flags.startsWith, Io.literal))
          const lines = ExportFormat.exportLines(
            { table: target.config.table, prefix: target.config.prefix },
            counts,
            { filter: startsWith === undefined ? undefined : (key) => key.startsWith(startsWith) }
          ).pipe(
            Stream.tap(() =>
              progress.update(() => `${plural(counts.keys, "key")} (${Render.bytes(counts.binaryBytes)} of binaries)`)
            )
          )
          const out = Option.getOrUndefined(Option.filter(flags.out, (path) => !Io.isStdin(path)))
          if (out === undefined) {
            yield* Stream.run(lines, Io.stdoutSink)
          } else {
            const partial = `${out}.partial`
            yield* Stream.run(lines, Io.fileSink(partial)).pipe(
              Effect.zipRight(Effect.try({ try: () => Fs.renameSync(partial, out), catch: Io.fileError(out) })),
              // a failed or interrupted export leaves no partial file behind
              Effect.onError(() => Effect.sync(() => Fs.rmSync(partial, { force: true })))
            )
          }
          yield* progress.done
          const summary = flags.json
            ? JSON.stringify({ ...counts, out: out ?? null, millis: Date.now() - start })
            : `exported ${plural(counts.keys, "key")} (${plural(counts.values, "value")}, ${
              counts.binaries === 1 ? "1 binary" : `${counts.binaries} binaries`
            } of ${Render.bytes(counts.binaryBytes)}, ${plural(counts.logs, "log")}${
              counts.vanished === 0 ? "" : `; ${plural(counts.vanished, "key")} removed since listed left out`
            }) from ${target.label}${out === undefined ? "" : ` to ${out}`} in ${Render.elapsed(Date.now() - start)}`
          // stdout carries the data when there is no --out
          yield* out === undefined ? Io.errLine(summary) : Io.line(summary)
        }))
    )
).pipe(
  Command.withDescription(
    "Write the whole store (values, logs, binaries, metas, TTLs) as JSON Lines: a backup, " +
      "or a store to import into another table, region or prefix (docs/cli.md)."
  )
)

// -----------------------------------------------------------------------------
// import
// -----------------------------------------------------------------------------

/** The summary line of an import (or of `import --check`). */
const importSummary = (counts: ExportFormat.Counts, into: string, millis: number, check: boolean): string =>
  `${check ? "checked" : "imported"} ${plural(counts.keys - counts.expired, "key")} (${
    plural(counts.values, "value")
  }, ${counts.binaries === 1 ? "1 binary" : `${counts.binaries} binaries`} of ${Render.bytes(counts.binaryBytes)}, ${
    plural(counts.logs, "log")
  }; ${counts.expired} expired ${check ? "to remove" : "removed"}) ${
    check ? "in the file, nothing written" : `into ${into}`
  } in ${Render.elapsed(millis)}`

const importCommand = Command.make(
  "import",
  {
    ...Target.flags,
    file: Args.text({ name: "FILE" }).pipe(
      Args.withDescription("An export file; - or nothing for stdin."),
      // Args.optional, not Args.withDefault: with a default, the options after the argument went unparsed
      Args.optional
    ),
    check: Options.boolean("check").pipe(
      Options.withDescription("Read and check the whole file, report its counts, write nothing (no store needed).")
    ),
    json
  },
  (flags) =>
    handle(
      flags.json,
      Effect.gen(function*() {
        const file = Option.getOrElse(flags.file, () => "-")
        yield* Io.checkReadable(file)
        const run = <R>(writer: ExportFormat.ImportWriter<R>, into: string) =>
          Effect.gen(function*() {
            const start = Date.now()
            const size = yield* Io.fileSize(file)
            let read = 0
            const lines = Io.readBytes(file).pipe(
              Stream.tap((chunk) =>
                Effect.sync(() => {
                  read += chunk.byteLength
                })
              ),
              Stream.decodeText(),
              Stream.splitLines
            )
            const progress = yield* Progress.make(flags.check ? "import --check" : "import", {
              tty: Io.stderrIsTTY()
            })
            const counts = yield* ExportFormat.importLines(lines, {
              now: () => Date.now(),
              writer,
              onProgress: ({ counts }) =>
                progress.update(
                  () => `${plural(counts.keys, "key")} (${Render.bytes(counts.binaryBytes)} of binaries)`,
                  size === undefined || size === 0 ? undefined : read / size
                )
            })
            yield* progress.done
            yield* Io.line(
              flags.json
                ? JSON.stringify({ ...counts, check: flags.check, millis: Date.now() - start })
                : importSummary(counts, into, Date.now() - start, flags.check)
            )
          })
        if (flags.check) return yield* run(ExportFormat.checkWriter, "")
        yield* withStore(flags, { create: true }, (target) => run(ExportFormat.storeWriter, target.label))
      })
    )
).pipe(
  Command.withDescription(
    "Write an export into the store: its keys overwrite the same keys, other keys stay; a key changes only once " +
      "its record is complete. Not atomic: check the file first with --check. Creates the table when missing."
  )
)

// -----------------------------------------------------------------------------
// sweep
// -----------------------------------------------------------------------------

const sweep = Command.make(
  "sweep",
  {
    ...Target.flags,
    grace: optionalText(
      "grace",
      "DURATION",
      "Only items older than this go (default \"1 hour\"; keep it above 35 minutes)."
    ),
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("Count what would go, delete nothing.")),
    json
  },
  (flags) =>
    handle(
      flags.json,
      Effect.gen(function*() {
        const grace = Option.isSome(flags.grace) ? yield* parseDuration(flags.grace.value, "--grace") : undefined
        const target = yield* Target.resolve(flags, { create: false })
        const start = Date.now()
        const progress = yield* Progress.make(flags.dryRun ? "sweep (dry run)" : "sweep", { tty: Io.stderrIsTTY() })
        const last = yield* DynamoDBStore.sweep(target.config, {
          dryRun: flags.dryRun,
          ...(grace === undefined ? {} : { grace })
        }).pipe(
          Stream.tap((p) =>
            progress.update(() =>
              `${plural(p.scanned, "item")} scanned, ${p.unreferenced} unreferenced, ${p.removed} removed`
            )
          ),
          Stream.runLast
        )
        yield* progress.done
        const p = Option.getOrElse(last, () => ({ scanned: 0, unreferenced: 0, removed: 0, bytesFreed: 0, done: true }))
        yield* Io.line(
          flags.json
            ? JSON.stringify({ ...p, dryRun: flags.dryRun, millis: Date.now() - start })
            : flags.dryRun
            ? `sweep (dry run): ${plural(p.scanned, "item")} scanned, ${p.unreferenced} unreferenced would go, ` +
              `in ${target.label} (${Render.elapsed(Date.now() - start)})`
            : `sweep: ${plural(p.scanned, "item")} scanned, ${p.unreferenced} unreferenced, ${p.removed} removed ` +
              `(${Render.bytes(p.bytesFreed)} freed), in ${target.label} (${Render.elapsed(Date.now() - start)})`
        )
      })
    )
).pipe(
  Command.withDescription(
    "Remove the DynamoDB items no key references (chunks and log elements left by faults or dead writers), " +
      "once older than the grace. Never changes what any read sees."
  )
)

// -----------------------------------------------------------------------------
// gc
// -----------------------------------------------------------------------------

/** The keys of a keep file (`keyLines.ts`): a line it cannot read as one key for sure fails with `KeepFileError`. */
const readKeep = (path: string): Effect.Effect<ReadonlySet<string>, FileError | KeepFileError> =>
  Effect.flatMap(
    Io.readAllBytes(path),
    (bytes) =>
      Either.match(KeyLines.parseKeepFile(bytes), {
        onLeft: ({ line, reason }) => Effect.fail(new KeepFileError({ path: Io.literal(path), line, reason })),
        onRight: Effect.succeed
      })
  )

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})/

/** An ISO date, or a duration before now ("30 days"). */
const parseOlderThan = (text: string): Effect.Effect<Date, UsageError> => {
  const trimmed = text.trim()
  const date = ISO_DATE.exec(trimmed)
  if (date !== null) {
    const time = Date.parse(trimmed)
    const [year, month, day] = [Number(date[1]), Number(date[2]), Number(date[3])]
    // Date.parse takes "2025-02-30" as March 2
    const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
    if (Number.isNaN(time) || month < 1 || month > 12 || day < 1 || day > daysInMonth) {
      return Effect.fail(
        new UsageError({
          message: `--older-than: ${JSON.stringify(text)} is not a date (e.g. "2025-01-31", "2025-01-31T12:00:00Z")`
        })
      )
    }
    return Effect.succeed(new Date(time))
  }
  if (trimmed.startsWith("-") && Option.isSome(Duration.decodeUnknown(trimmed))) {
    return Effect.fail(
      new UsageError({
        message: `--older-than: ${JSON.stringify(text)} is negative (a duration before now: "30 days")`
      })
    )
  }
  const refused = new UsageError({
    message: `--older-than: ${JSON.stringify(text)} is neither an ISO date ("2025-01-31", ` +
      `"2025-01-31T12:00:00Z") nor a duration before now ("30 days")`
  })
  return Effect.flatMap(
    Effect.mapError(parseDuration(text, "--older-than"), () => refused),
    (ago) => {
      const before = new Date(Date.now() - Duration.toMillis(ago))
      return Number.isNaN(before.getTime()) ? Effect.fail(refused) : Effect.succeed(before)
    }
  )
}

const gc = Command.make(
  "gc",
  {
    ...Target.flags,
    keep: Options.text("keep").pipe(
      Options.withPseudoName("FILE"),
      Options.withDescription(
        "A file of the keys to keep, one a line, as `keys` or `keys --json` prints them (- for stdin). " +
          "A line it cannot read as one key for sure stops gc (docs/cli.md)."
      )
    ),
    olderThan: Options.text("older-than").pipe(
      Options.withPseudoName("DATE"),
      Options.withDescription("Remove the other keys last written before this: an ISO date, or \"30 days\" (ago).")
    ),
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("List what would go, remove nothing.")),
    json
  },
  (flags) =>
    handle(
      flags.json,
      Effect.gen(function*() {
        const olderThan = yield* parseOlderThan(flags.olderThan)
        yield* Io.checkReadable(flags.keep)
        const keep = yield* readKeep(flags.keep)
        yield* withStore(flags, { create: false }, (target) =>
          Effect.gen(function*() {
            const removed: ReadonlyArray<string> = flags.dryRun
              ? yield* KonserveStore.keys.pipe(
                Stream.filter((meta) => !keep.has(meta.key) && meta.lastWrite.getTime() < olderThan.getTime()),
                Stream.map((meta) => meta.key),
                Stream.runCollect,
                Effect.map((chunk) => Array.from(chunk))
              )
              : yield* KonserveStore.gc({ keep, olderThan })
            if (flags.json) {
              return yield* Io.line(JSON.stringify({ dryRun: flags.dryRun, olderThan, removed }))
            }
            for (const key of removed) yield* Io.line(KeyLines.render(key))
            yield* Io.errLine(
              `gc${flags.dryRun ? " (dry run)" : ""}: ${plural(removed.length, "key")} ${
                flags.dryRun ? "would go" : "removed"
              } (last written before ${olderThan.toISOString()}, not in ${
                plural(keep.size, "kept key")
              }) in ${target.label}`
            )
          }))
      })
    )
).pipe(
  Command.withDescription(
    "Remove every key not in --keep last written before --older-than (konserve's gc); prints the keys removed."
  )
)

// -----------------------------------------------------------------------------
// the root
// -----------------------------------------------------------------------------

/**
 * The `konserve-dynamodb` command and its subcommands.
 *
 * @internal
 */
export const root = Command.make("konserve-dynamodb").pipe(
  Command.withDescription(
    "The konserve store on DynamoDB from the shell: list, read, write and remove keys; export, import; sweep and gc. " +
      "Exit codes: 0 ok, 1 failure, 2 usage error, 3 key not found."
  ),
  Command.withSubcommands([keys, get, put, rm, stat, exportCommand, importCommand, sweep, gc, watch])
)

/** Used by `main.ts` to tell a reported failure apart. @internal */
export { Exit, FileError }
