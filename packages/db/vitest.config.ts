import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "db",
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    // beforeAll starts a real PostgreSQL server (initdb + pg_ctl start).
    hookTimeout: 60_000,
    // The suite starts a server process: one file at a time.
    fileParallelism: false,
  },
});
