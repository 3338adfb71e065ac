/** The scheduler package: the interface, every algorithm by name, and the factory. */
export * from "./registry.js";
export * from "./types.js";
export * from "./random.js";
