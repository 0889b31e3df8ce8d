/**
 * This repository's vitest `globalSetup`: `konserve-dynamodb/vitest/setup`
 * (`src/vitestSetup.ts`), one DynamoDB Local per run, shared by the run's
 * projects (vitest.config.ts runs two lanes, each a project, and calls a
 * project's `globalSetup` once per project). The first project starts the
 * engine through the library's own setup; the others are handed its
 * endpoint; the last teardown stops it.
 */
import type { TestProject } from "vitest/node"
import setup from "../../src/vitestSetup.js"

interface Shared {
  /** The endpoint the library's setup provided, and its teardown. */
  readonly started: Promise<{ readonly endpoint: string; readonly stop: () => Promise<void> }>
  users: number
}

/** One per vitest process (projects load this module separately, so module state would not be shared). */
const key = Symbol.for("konserve-dynamodb/test/globalSetup")
const slot = globalThis as { [key]?: Shared }

export default async (project: TestProject): Promise<() => Promise<void>> => {
  const shared = slot[key] ??= {
    started: (async () => {
      let endpoint: string | undefined
      // the library's setup, as users run it: it provides the endpoint to the project it is given
      const stop = await setup({
        provide: (name: string, value: string) => {
          if (name === "konserveDynamoDBLocalEndpoint") endpoint = value
        }
      } as unknown as TestProject)
      if (endpoint === undefined) throw new Error("konserve-dynamodb/vitest/setup provided no endpoint")
      return { endpoint, stop }
    })(),
    users: 0
  }
  shared.users += 1
  const { endpoint, stop } = await shared.started
  project.provide("konserveDynamoDBLocalEndpoint", endpoint)
  return async () => {
    shared.users -= 1
    if (shared.users === 0) {
      delete slot[key]
      await stop()
    }
  }
}
