/** The console's environment, parsed once (server side only). server.mjs has already set the TLS/auth basics. */
import path from "node:path";
import { z } from "zod";

const Env = z.object({
  CONSOLE_STATE_DIR: z.string().min(1).default(".state/console"),
  DATABASE_URL: z.string().optional(),
  NEXTAUTH_URL: z.url().default("https://localhost:8443"),
  NEXTAUTH_SECRET: z.string().min(16).optional(),
  CONSOLE_ADMIN_USER: z.string().optional(),
  CONSOLE_ADMIN_PASSWORD: z.string().optional(),
  CONSOLE_REQUIRE_ADMIN_TOTP: z.enum(["0", "1", "true", "false"]).default("0"),
  /** Registers the agent whose state dir this is on first start (npm start's demo agent). */
  CONSOLE_AGENT_STATE_DIR: z.string().optional(),
  OIDC_ISSUER: z.url().optional(),
  OIDC_CLIENT_ID: z.string().optional(),
  OIDC_CLIENT_SECRET: z.string().optional(),
  /** Role given to an OIDC user seen for the first time; unset = only users already in the console may sign in. */
  OIDC_DEFAULT_ROLE: z.enum(["viewer", "operator", "admin"]).optional(),
});

let parsed: z.infer<typeof Env> | undefined;

export function env() {
  parsed ??= Env.parse(process.env);
  return parsed;
}

export const stateDir = () => path.resolve(env().CONSOLE_STATE_DIR);
export const requireAdminTotp = () => ["1", "true"].includes(env().CONSOLE_REQUIRE_ADMIN_TOTP);
export const oidcEnabled = () => Boolean(env().OIDC_ISSUER && env().OIDC_CLIENT_ID && env().OIDC_CLIENT_SECRET);
