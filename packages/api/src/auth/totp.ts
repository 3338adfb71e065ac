/** TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s, ±1 step), via otpauth. */
import * as OTPAuth from "otpauth";

export function newTotpSecret(): string {
  return new OTPAuth.Secret({ size: 20 }).base32;
}

export function totpUri(secret: string, username: string): string {
  return new OTPAuth.TOTP({ issuer: "Director", label: username, secret: OTPAuth.Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30 }).toString();
}

export function verifyTotp(secret: string, code: string | undefined, now = Date.now()): boolean {
  if (!code || !/^\d{6}$/.test(code)) return false;
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30 });
  return totp.validate({ token: code, timestamp: now, window: 1 }) !== null;
}

export function totpNow(secret: string, now = Date.now()): string {
  return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30 }).generate({ timestamp: now });
}
