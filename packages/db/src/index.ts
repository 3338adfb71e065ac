export * from "./store.js";
export * from "./open.js";
export * from "./password.js";
export * from "./seal.js";
