import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "agent",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end tests bind fixed loopback ports and start processes: one file at a time.
    fileParallelism: false,
  },
});
