// Keyv's suite with vitest 4; one DynamoDB Local per run from the package's own globalSetup.
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["*.spec.js"],
    globalSetup: ["../../src/vitestSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" }
  }
})
