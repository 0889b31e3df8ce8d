/**
 * Progress of long work (export, import, sweep, stat) on stderr: a bar
 * redrawn in place at most 10 times a second when stderr is a terminal,
 * else a plain line every few seconds. The summary of the work is printed by
 * the command itself when it is done.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Render from "./render.js"

/** @internal */
export interface Progress {
  /** Shows `status()` (computed only when shown); `fraction` in [0, 1] draws a bar. */
  readonly update: (status: () => string, fraction?: number) => Effect.Effect<void>
  /** Clears the bar (a terminal) before the summary is printed. */
  readonly done: Effect.Effect<void>
}

/** How often a terminal's bar is redrawn. @internal */
export const TTY_INTERVAL_MILLIS = 100

/** How often a plain progress line is printed when stderr is not a terminal. @internal */
export const PLAIN_INTERVAL_MILLIS = 5000

const BAR_WIDTH = 24

/** A bar of `BAR_WIDTH` cells and the percentage: `[#######.................]  29%`. @internal */
export const bar = (fraction: number): string => {
  const clamped = Math.min(1, Math.max(0, fraction))
  const filled = Math.round(clamped * BAR_WIDTH)
  return `[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${String(Math.floor(clamped * 100)).padStart(3)}%`
}

/**
 * Progress on stderr, labelled (`export`, `sweep`, ...); `tty` says whether
 * stderr is a terminal, `quiet` shows nothing. The bar is cleared when the
 * scope closes, also on a failure or an interruption.
 *
 * @internal
 */
export const make = (
  label: string,
  options: { readonly tty: boolean; readonly quiet?: boolean }
): Effect.Effect<Progress, never, Scope.Scope> =>
  Effect.acquireRelease(create(label, options), (progress) => progress.done)

const create = (
  label: string,
  options: { readonly tty: boolean; readonly quiet?: boolean }
): Effect.Effect<Progress> =>
  Effect.sync(() => {
    if (options.quiet === true) return { update: () => Effect.void, done: Effect.void }
    const start = Date.now()
    let last = options.tty ? 0 : start
    let drawn = false
    const interval = options.tty ? TTY_INTERVAL_MILLIS : PLAIN_INTERVAL_MILLIS
    const update = (status: () => string, fraction?: number): Effect.Effect<void> =>
      Effect.sync(() => {
        const now = Date.now()
        if (now - last < interval) return
        last = now
        const text = `${label} ${fraction === undefined ? "" : bar(fraction) + "  "}${status()}  ${
          Render.elapsed(now - start)
        }`
        if (options.tty) {
          process.stderr.write(`\r\x1b[2K${text.slice(0, (process.stderr.columns ?? 120) - 1)}`)
          drawn = true
        } else {
          process.stderr.write(text + "\n")
        }
      })
    const done = Effect.sync(() => {
      if (drawn) process.stderr.write("\r\x1b[2K")
      drawn = false
    })
    return { update, done }
  })
