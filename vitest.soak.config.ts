import { defineConfig } from "vitest/config"

/** `npm run soak`: the long randomized runs, on the same one DynamoDB Local per run. */
export default defineConfig({
  test: {
    include: ["test/soak/**/*.soak.ts"],
    globalSetup: ["src/vitestSetup.ts"],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: "forks",
    sequence: { concurrent: false },
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" }
  }
})
