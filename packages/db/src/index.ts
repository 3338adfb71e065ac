export * from "./store.js";
export * from "./open.js";
export * from "./password.js";
