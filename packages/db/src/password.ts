/** Password hashing: argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane). */
import { type Algorithm, hash, verify } from "@node-rs/argon2";

// `Algorithm` is a const enum, which isolatedModules cannot read: Argon2id is 2.
const ARGON2ID = 2 as Algorithm.Argon2id;
const OPTS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 };

export const hashPassword = (password: string): Promise<string> => hash(password, OPTS);

/** A fixed hash to verify against when the user does not exist, so timing does not tell whether it does. */
let dummy: Promise<string> | undefined;
export async function verifyPassword(stored: string | undefined, password: string): Promise<boolean> {
  if (!stored) {
    dummy ??= hashPassword("not a real password");
    await verify(await dummy, password).catch(() => false);
    return false;
  }
  return verify(stored, password).catch(() => false);
}

/** The password rule: 12 to 256 characters. */
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;
