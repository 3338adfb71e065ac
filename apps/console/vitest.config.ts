import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "console",
    include: ["test/**/*.test.ts"],
    // Each file starts a real cluster (real servers, an agent, the production console) and some a browser.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
