/**
 * The bank on `transact`: accounts, writers doing random transfers (each one
 * transaction over its two accounts, declined when the source has less than
 * the amount), auditors summing every account in one read-only transaction.
 * Every transaction is one operation of the history, over several keys; the
 * model checks that each saw the balances of one state and moved exactly
 * what it said (`linearizability.ts`).
 */
import * as Effect from "effect/Effect"
import type { KonserveStore } from "../../src/KonserveStore.js"
import type * as Linearizability from "./linearizability.js"

export type Input =
  | {
    readonly type: "transfer"
    readonly from: number
    readonly to: number
    readonly amount: number
    /** The balances f saw last (the run that committed, or the one whose outcome is unknown). */
    readonly seen: readonly [number, number]
    readonly outcome: "moved" | "declined" | "unknown"
  }
  | { readonly type: "audit"; readonly balances: ReadonlyArray<number> }

/** Balances, one per account. */
export type State = ReadonlyArray<number>

const step = (state: State, input: Input): State | undefined => {
  switch (input.type) {
    case "audit":
      return input.balances.every((balance, i) => balance === state[i]) ? state : undefined
    case "transfer": {
      if (state[input.from] !== input.seen[0] || state[input.to] !== input.seen[1]) return undefined
      if (input.outcome === "declined") return input.seen[0] < input.amount ? state : undefined
      const next = [...state]
      next[input.from] -= input.amount
      next[input.to] += input.amount
      return next
    }
  }
}

export const model = (accounts: number, initial: number): Linearizability.Model<State, Input> => ({
  init: Array.from({ length: accounts }, () => initial),
  step,
  hash: (state) => state.join(",")
})

export interface Options {
  readonly accounts: number
  readonly initial: number
  readonly transfersPerWriter: number
  readonly auditsPerAuditor: number
  readonly random: () => number
  /** The retries of each transfer (default: the store's). */
  readonly retries?: number
}

export interface Run {
  readonly history: ReadonlyArray<Linearizability.Operation<Input>>
  /** Audits that saw a total other than accounts × initial. */
  readonly badAudits: ReadonlyArray<ReadonlyArray<number>>
  readonly outcomes: Readonly<Record<string, number>>
}

const isUnknown = (error: unknown): boolean =>
  (error as { readonly _tag?: unknown; readonly code?: unknown })._tag === "DynamoDBError" &&
  (error as { readonly code?: unknown }).code === "UnknownOutcome"

export const accountKey = (i: number): string => `acct${i}`

/** Runs the writers and auditors at once, each on its own store; the accounts must hold `initial` each. */
export const run = (
  writers: ReadonlyArray<KonserveStore>,
  auditors: ReadonlyArray<KonserveStore>,
  options: Options
): Effect.Effect<Run> =>
  Effect.gen(function*() {
    const history: Array<Linearizability.Operation<Input>> = []
    const badAudits: Array<ReadonlyArray<number>> = []
    const outcomes: Record<string, number> = {}
    const count = (outcome: string) => (outcomes[outcome] = (outcomes[outcome] ?? 0) + 1)
    const keys = Array.from({ length: options.accounts }, (_, i) => accountKey(i))
    const total = options.accounts * options.initial
    const now = () => performance.now()

    const transfer = (store: KonserveStore) =>
      Effect.suspend(() => {
        const from = Math.floor(options.random() * options.accounts)
        const to = (from + 1 + Math.floor(options.random() * (options.accounts - 1))) % options.accounts
        const amount = 1 + Math.floor(options.random() * 30)
        let seen: readonly [number, number] = [Number.NaN, Number.NaN]
        const call = now()
        return store.transact([keys[from], keys[to]], (current) => {
          const a = current.get(keys[from]) as number
          const b = current.get(keys[to]) as number
          seen = [a, b]
          return Effect.succeed(
            a < amount
              ? { result: "declined" as const }
              : { assoc: [[keys[from], a - amount], [keys[to], b + amount]] as const, result: "moved" as const }
          )
        }, options.retries === undefined ? undefined : { retries: options.retries }).pipe(
          Effect.matchEffect({
            onSuccess: (outcome) =>
              Effect.sync(() => {
                count(outcome)
                history.push({ input: { type: "transfer", from, to, amount, seen, outcome }, call, ret: now() })
              }),
            onFailure: (error) =>
              Effect.sync(() => {
                if (isUnknown(error)) {
                  count("unknown")
                  history.push({
                    input: { type: "transfer", from, to, amount, seen, outcome: "unknown" },
                    call,
                    ret: undefined
                  })
                } else {
                  // Certainly not applied (conflict retries spent, throttled): no effect, not in the history.
                  count(String((error as { readonly _tag?: unknown })._tag))
                }
              })
          })
        )
      })

    const audit = (store: KonserveStore) =>
      Effect.suspend(() => {
        const call = now()
        return store.transact(keys, (current) =>
          Effect.succeed({ result: keys.map((key) => current.get(key) as number) }))
          .pipe(
            Effect.matchEffect({
              onSuccess: (balances) =>
                Effect.sync(() => {
                  count("audit")
                  if (
                    balances.reduce((a, b) =>
                      a + b, 0) !== total
                  ) badAudits.push(balances)
                  history.push({ input: { type: "audit", balances }, call, ret: now() })
                }),
              onFailure: (error) => Effect.sync(() => count(`audit ${String((error as { _tag?: unknown })._tag)}`))
            })
          )
      })

    yield* Effect.all([
      ...writers.map((store) => Effect.repeatN(transfer(store), options.transfersPerWriter - 1)),
      ...auditors.map((store) => Effect.repeatN(audit(store), options.auditsPerAuditor - 1))
    ], { concurrency: "unbounded", discard: true })
    return { history, badAudits, outcomes }
  })
