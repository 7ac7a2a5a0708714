// RFC 6238 one-time codes (otpauth): SHA-1, 6 digits, 30 s steps, as every authenticator app reads them.
import type * as OtpAuth from "otpauth";

const PERIOD_S = 30;

/** otpauth, loaded at the first sign-in or invite rather than with the gateway (cold start). */
const otpauth = () => require("otpauth") as typeof OtpAuth;

const totpOf = (secret: string, label = "kubeport", issuer = "kubeport") => {
  const { Secret, TOTP } = otpauth();
  return new TOTP({
    issuer,
    label,
    algorithm: "SHA1",
    digits: 6,
    period: PERIOD_S,
    secret: Secret.fromBase32(secret),
  });
};

/** A new shared secret (160 bits, RFC 4226 §4's recommendation), base32. */
export const newTotpSecret = (): string => new (otpauth().Secret)({ size: 20 }).base32;

/** The otpauth:// URI an authenticator app scans: `issuer:user`. */
export const totpUri = (secret: string, user: string, issuer: string): string =>
  totpOf(secret, user, issuer).toString();

/** The current code (tests and the demo). */
export const totpCode = (secret: string, now = Date.now()): string =>
  totpOf(secret).generate({ timestamp: now });

/**
 * The time step a code belongs to when it is one of the current step's or its neighbours' (clocks
 * drift; RFC 6238 §5.2 allows one step each way), and comes after `lastStep` (a code is good once).
 * Undefined otherwise.
 */
export function acceptTotp(
  secret: string,
  code: string,
  lastStep = -1,
  now = Date.now(),
): number | undefined {
  const token = code.replace(/\s+/g, "");
  if (!/^\d{6}$/.test(token)) return undefined;
  const delta = totpOf(secret).validate({ token, timestamp: now, window: 1 });
  if (delta === null) return undefined;
  const step = Math.floor(now / 1000 / PERIOD_S) + delta;
  return step > lastStep ? step : undefined;
}
