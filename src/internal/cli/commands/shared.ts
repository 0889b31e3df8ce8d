/**
 * What the commands of the CLI share: the `--json` flag, how a command's
 * program is run and its failures reported (`handle`), the store of the
 * flags (`withStore`, `onStore`), and the parsers of durations and tagged
 * JSON flags.
 *
 * @internal
 */
import * as Options from "@effect/cli/Options"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as KonserveStore from "../../../KonserveStore.js"
import { Exit, renderReport, reportOf, UsageError } from "../failure.js"
import * as Io from "../io.js"
import * as Render from "../render.js"
import * as Target from "../target.js"

/** `--json`: machine-readable output. @internal */
export const json = Options.boolean("json").pipe(
  Options.withDescription("Machine-readable output: JSON on stdout, failures as one JSON object on stderr.")
)

/** @internal */
export const optionalText = (name: string, placeholder: string, description: string) =>
  Options.optional(
    Options.text(name).pipe(Options.withPseudoName(placeholder), Options.withDescription(description))
  )

/**
 * Runs a command's program: scoped, failures and defects reported as one line
 * on stderr (JSON with `--json`), then the program ends with `Exit(code)`.
 *
 * @internal
 */
export const handle = <E>(asJson: boolean, program: Effect.Effect<void, E, Scope.Scope>): Effect.Effect<void, Exit> =>
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

/** The store of the flags, provided to `program`. @internal */
export const withStore = <A, E>(
  flags: Target.Flags,
  options: { readonly create: boolean },
  program: (target: Target.Target) => Effect.Effect<A, E, KonserveStore.KonserveStore | Scope.Scope>
) => Effect.flatMap(Target.resolve(flags, options), (target) => Effect.provide(program(target), Target.layer(target)))

/**
 * A command that reads or changes an existing store: `program` on the
 * store of the flags (the table is not created), run by `handle`.
 *
 * @internal
 */
export const onStore = <E>(
  flags: Target.Flags & { readonly json: boolean },
  program: (target: Target.Target) => Effect.Effect<void, E, KonserveStore.KonserveStore | Scope.Scope>
): Effect.Effect<void, Exit> => handle(flags.json, withStore(flags, { create: false }, program))

/**
 * A duration of 0 or more ("30 minutes", "2 days"). Effect's own parser takes
 * "-30 days" as zero: a negative duration is refused here instead (it would
 * make `gc --older-than` reach up to now, `sweep --grace` 0).
 *
 * @internal
 */
export const parseDuration = (text: string, flag: string): Effect.Effect<Duration.Duration, UsageError> => {
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

/** Tagged JSON (`render.ts`) of a flag or argument. @internal */
export const parseTagged = (text: string, what: string): Effect.Effect<unknown, UsageError> =>
  Either.match(Render.parse(text), {
    onLeft: (reason) => Effect.fail(new UsageError({ message: `${what}: ${reason}` })),
    onRight: Effect.succeed
  })

/** @internal */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`
