import type { NextConfig } from "next";

// Security headers (CSP with a per-request nonce, HSTS, …) are set by server.mjs on every response, so that
// route handlers, pages and static files all carry them. Nothing is prerendered: pages need the nonce.
const config: NextConfig = {
  // A second build dir (CONSOLE_DIST_DIR) lets a build run beside a console serving the default one.
  distDir: process.env.CONSOLE_DIST_DIR ?? ".next",
  poweredByHeader: false,
  reactStrictMode: true,
  transpilePackages: ["@director/api", "@director/db", "@director/model", "@director/agent"],
  serverExternalPackages: ["better-sqlite3", "@node-rs/argon2", "pg"],
  typescript: { ignoreBuildErrors: false },
  // The workspace packages are ESM TypeScript with NodeNext-style ".js" specifiers for ".ts" files. Turbopack in
  // Next 16.4 cannot map those (vercel/next.js#82945), so the console builds with webpack and this alias.
  webpack(cfg: { resolve: { extensionAlias?: Record<string, string[]> } }) {
    cfg.resolve.extensionAlias = { ".js": [".ts", ".tsx", ".js"] };
    return cfg;
  },
};

export default config;
