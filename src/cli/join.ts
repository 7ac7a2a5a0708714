// Join tokens: minting (secret shown once, sha256 stored), resolving join_params, checking roles.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { JoinParams } from "../config/index.ts";
import { accessDenied, badParameter } from "../lib/errors.ts";
import type { Backend, Token, TokenRole } from "../registry/index.ts";

export const sha256Hex = (s: string) => createHash("sha256").update(s).digest("hex");
/** A token's public id: the first 8 hex chars of its hash (the registry name). */
export const tokenId = (hash: string) => hash.slice(0, 8);
const SECRET = /^[0-9a-f]{64}$/;
/** True when the text looks like a token secret (32 bytes hex) rather than an id. */
export const isTokenSecret = (s: string) => SECRET.test(s);

/** A new random token: 32 bytes hex, its hash, and the Token resource that stores only the hash. */
export function mintToken(
  roles: TokenRole[],
  ttlMs: number,
  now = Date.now(),
): { secret: string; token: Token } {
  const secret = randomBytes(32).toString("hex");
  const hash = sha256Hex(secret);
  return {
    secret,
    token: {
      kind: "token",
      version: "v1",
      metadata: { name: tokenId(hash), expires: new Date(now + ttlMs).toISOString() },
      spec: { roles, hash },
    },
  };
}

/**
 * The secret join_params names: the contents of a file when token_name is a path to one
 * (absolute, or containing "/"), else token_name itself.
 */
export async function resolveJoinSecret(params: JoinParams): Promise<string> {
  const name = params.token_name;
  if (!name.includes("/")) return name.trim();
  try {
    return (await readFile(name, "utf8")).trim();
  } catch (err) {
    throw badParameter(`kubeport.join_params.token_name: cannot read token file ${name}`, err);
  }
}

/** Which token role each service needs to start. */
export const SERVICE_ROLES: Record<string, readonly TokenRole[]> = {
  discovery_service: ["discovery"],
  kubernetes_service: ["kube"],
  proxy_service: ["kube", "proxy"],
};

/**
 * Looks the secret up by hash and checks it grants every service's role. Throws access_denied:
 * "join token is unknown or has expired", or "join token lacks role … needed by …" naming every
 * service whose role is missing.
 */
export async function checkJoinToken(
  backend: Backend,
  secret: string,
  services: readonly string[],
): Promise<Token> {
  const hash = sha256Hex(secret);
  const found = (await backend.get("token", tokenId(hash))) as Token | undefined;
  const same =
    found &&
    found.spec.hash.length === hash.length &&
    timingSafeEqual(Buffer.from(found.spec.hash), Buffer.from(hash));
  const expired = found?.metadata.expires !== undefined && Date.parse(found.metadata.expires) <= Date.now();
  if (!found || !same || expired)
    throw accessDenied(
      "join token is unknown or has expired (create one with: kubeport ctl tokens add --type=discovery,kube)",
    );
  // Every gap at once, so one new token fixes the start instead of one per attempt.
  const gaps = services.flatMap((svc) => {
    const need = SERVICE_ROLES[svc] ?? [];
    if (need.length === 0 || need.some((r) => found.spec.roles.includes(r))) return [];
    return [`role ${need.map((r) => `"${r}"`).join(" or ")} needed by ${svc}`];
  });
  if (gaps.length > 0) {
    const has = found.spec.roles.length > 0 ? found.spec.roles.join(", ") : "none";
    throw accessDenied(`join token ${found.metadata.name} lacks ${gaps.join("; ")} (it has: ${has})`);
  }
  return found;
}
