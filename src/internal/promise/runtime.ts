/**
 * How the promise API (`konserve-dynamodb/promise`) runs effects: the one
 * module that names Effect 3's `Runtime`. Effect 4 removes `Runtime<R>`: a
 * built layer is a `Context<R>` (`ManagedRuntime.contextEffect`) and the run
 * functions are `Effect.runPromiseExitWith(context)`, `runForkWith`,
 * `runSyncWith` (docs/architecture.md, "Effect 4"). Each function here
 * forwards to its Effect 3 counterpart and nothing else.
 *
 * @internal
 */
import type * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as ManagedRuntime from "effect/ManagedRuntime"
import * as Runtime from "effect/Runtime"

/**
 * The services a built layer provides, in the shape effects run with.
 *
 * @internal
 */
export type Services<R> = Runtime.Runtime<R>

/**
 * The services themselves (in Effect 4, `Services<R>` is this `Context<R>`).
 *
 * @internal
 */
export const context = <R>(services: Services<R>): Context.Context<R> => services.context

/**
 * Builds `managed`'s layer; its services, or why the layer failed.
 *
 * @internal
 */
export const build = <R, E>(managed: ManagedRuntime.ManagedRuntime<R, E>): Promise<Exit.Exit<Services<R>, E>> =>
  Runtime.runPromiseExit(Runtime.defaultRuntime, managed.runtimeEffect)

/** @internal */
export const runPromiseExit = <A, E, R>(
  services: Services<R>,
  effect: Effect.Effect<A, E, R>
): Promise<Exit.Exit<A, E>> => Runtime.runPromiseExit(services, effect)

/** @internal */
export const runPromise = <A, E, R>(services: Services<R>, effect: Effect.Effect<A, E, R>): Promise<A> =>
  Runtime.runPromise(services, effect)

/** @internal */
export const runSync = <A, E, R>(services: Services<R>, effect: Effect.Effect<A, E, R>): A =>
  Runtime.runSync(services, effect)

/** @internal */
export const runFork = <A, E, R>(services: Services<R>, effect: Effect.Effect<A, E, R>): Fiber.RuntimeFiber<A, E> =>
  Runtime.runFork(services, effect)
