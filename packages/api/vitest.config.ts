import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "api",
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // hub.test.ts binds loopback ports and runs a real agent: one file at a time keeps timings honest.
    fileParallelism: false,
  },
});
