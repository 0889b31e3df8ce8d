/**
 * `@effect/platform`'s `Terminal` on the process's stdin and stdout, for
 * `@effect/cli`: its size and whether it is a terminal, prompts written to
 * stdout, and keys and lines read from stdin for the prompts of `--wizard`
 * (Ctrl-C or Ctrl-D ends the key input). Stdin is touched only when a
 * prompt reads it: a readline interface (stdin in raw mode on a terminal) is
 * opened on the first read and closed with the last.
 *
 * @internal
 */
import * as PlatformError from "@effect/platform/Error"
import * as Terminal from "@effect/platform/Terminal"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as RcRef from "effect/RcRef"
import * as Readline from "node:readline"

const quits = (input: Terminal.UserInput): boolean =>
  input.key.ctrl && (input.key.name === "c" || input.key.name === "d")

const make = Effect.gen(function*() {
  const stdin = process.stdin
  const stdout = process.stdout

  const readlineRef = yield* RcRef.make({
    acquire: Effect.acquireRelease(
      Effect.sync(() => {
        const readline = Readline.createInterface({ input: stdin, escapeCodeTimeout: 50 })
        Readline.emitKeypressEvents(stdin, readline)
        if (stdin.isTTY) stdin.setRawMode(true)
        return readline
      }),
      (readline) =>
        Effect.sync(() => {
          if (stdin.isTTY) stdin.setRawMode(false)
          readline.close()
        })
    )
  })

  const readInput = Effect.gen(function*() {
    yield* RcRef.get(readlineRef)
    const mailbox = yield* Mailbox.make<Terminal.UserInput>()
    const onKeypress = (input: string | undefined, key: Readline.Key | undefined) => {
      const userInput: Terminal.UserInput = {
        input: Option.fromNullable(input),
        key: { name: key?.name ?? "", ctrl: key?.ctrl === true, meta: key?.meta === true, shift: key?.shift === true }
      }
      mailbox.unsafeOffer(userInput)
      if (quits(userInput)) mailbox.unsafeDone(Exit.void)
    }
    yield* Effect.addFinalizer(() => Effect.sync(() => stdin.off("keypress", onKeypress)))
    stdin.on("keypress", onKeypress)
    return mailbox as Mailbox.ReadonlyMailbox<Terminal.UserInput>
  })

  const readLine = Effect.scoped(
    Effect.flatMap(RcRef.get(readlineRef), (readline) =>
      Effect.async<string, Terminal.QuitException>((resume) => {
        const onLine = (line: string) => resume(Effect.succeed(line))
        readline.once("line", onLine)
        return Effect.sync(() => readline.off("line", onLine))
      }))
  )

  const display = (text: string): Effect.Effect<void, PlatformError.PlatformError> =>
    Effect.uninterruptible(Effect.async((resume) => {
      stdout.write(text, (error) =>
        resume(
          error === null || error === undefined ? Effect.void : Effect.fail(
            new PlatformError.BadArgument({
              module: "Terminal",
              method: "display",
              description: "Failed to write prompt to stdout",
              cause: error
            })
          )
        ))
    }))

  return Terminal.Terminal.of({
    columns: Effect.sync(() => stdout.columns ?? 0),
    rows: Effect.sync(() => stdout.rows ?? 0),
    isTTY: Effect.sync(() => stdout.isTTY === true),
    readInput,
    readLine,
    display
  })
})

/**
 * The terminal of the process (stdin, stdout).
 *
 * @internal
 */
export const layer: Layer.Layer<Terminal.Terminal> = Layer.scoped(Terminal.Terminal, make)
