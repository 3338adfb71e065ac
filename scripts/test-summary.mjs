// Prints the plain closing line "tests: N passed, N failed[, N skipped]" from vitest's JSON report.
import { readFileSync } from "node:fs";
const file = process.argv[2];
let r;
try {
  r = JSON.parse(readFileSync(file, "utf8"));
} catch (e) {
  console.log(`tests: 0 passed, 1 failed (no report: ${e.message})`);
  process.exit(0);
}
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}`);
