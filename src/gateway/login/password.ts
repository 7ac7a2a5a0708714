// Passwords: argon2id through Bun.password (built in: no native addon in the compiled binary), and the rules a new one meets.
import { badParameter } from "../../lib/errors.ts";

export const MIN_PASSWORD_LENGTH = 12;
/** argon2 hashes any length; a cap keeps a megabyte "password" from costing a request's worth of CPU per byte. */
export const MAX_PASSWORD_LENGTH = 1024;

/** argon2id with Bun's defaults (64 MiB, 2 passes). */
export const hashPassword = (password: string): Promise<string> =>
  Bun.password.hash(password, { algorithm: "argon2id" });

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  try {
    return await Bun.password.verify(password, hash);
  } catch {
    return false;
  }
}

/** A hash of nothing anyone knows, verified for unknown users so they cost the same time as known ones. */
let decoy: Promise<string> | undefined;
export async function verifyDecoy(password: string): Promise<void> {
  decoy ??= hashPassword(crypto.randomUUID());
  await verifyPassword(password.slice(0, MAX_PASSWORD_LENGTH), await decoy);
}

/** Throws bad_parameter naming the rule a new password breaks. */
export function checkNewPassword(password: string, confirm: string, user: string): void {
  if (password !== confirm) throw badParameter("the two passwords differ");
  if (password.length < MIN_PASSWORD_LENGTH)
    throw badParameter(`the password must be at least ${MIN_PASSWORD_LENGTH} characters long`);
  if (password.length > MAX_PASSWORD_LENGTH)
    throw badParameter(`the password must be at most ${MAX_PASSWORD_LENGTH} characters long`);
  if (password.toLowerCase().includes(user.toLowerCase()))
    throw badParameter("the password must not contain the user name");
}
