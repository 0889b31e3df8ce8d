import { configDefaults, defineConfig } from "vitest/config"

/**
 * The files that run child processes (npm and tsc, the bundled CLI, a killed writer, a crashing feed consumer):
 * a lane of their own, beside the in-process files. Each lane is a project with its own pool, and vitest runs the
 * pools side by side, one file at a time each (2 cores give one worker per pool); the lanes share one DynamoDB
 * Local (test/utils/globalSetup.ts). The two lanes take about equal halves of the run.
 */
const processes = ["test/package.test.ts", "test/cli*.test.ts", "test/sweep.test.ts", "test/feedCrash.test.ts"]

export default defineConfig({
  test: {
    globalSetup: ["test/utils/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    projects: [
      {
        extends: true,
        test: {
          name: "store",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...processes],
          pool: "forks"
        }
      },
      { extends: true, test: { name: "processes", include: processes, pool: "threads" } }
    ]
  }
})
