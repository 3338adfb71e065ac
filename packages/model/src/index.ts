export * from "./config.js";
export * from "./endpoint.js";
export * from "./ops.js";
export type * from "./status.js";
export * from "./health.js";
