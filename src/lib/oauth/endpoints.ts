// An OAuth/OIDC issuer's endpoints, from its discovery document.
import { egressFetch } from "../egress/index.ts";

export interface OAuthEndpoints {
  issuer: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  device_authorization_endpoint?: string;
}

/** Reads `<issuer>/.well-known/openid-configuration`; throws naming the URL when it cannot. */
export async function discoverEndpoints(issuer: string, timeoutMs = 5000): Promise<OAuthEndpoints> {
  const url = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  let res: Response;
  try {
    res = await egressFetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new Error(`cannot read ${url}: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const doc = (await res.json()) as Record<string, unknown>;
  const s = (k: string) => (typeof doc[k] === "string" ? (doc[k] as string) : undefined);
  return {
    issuer: s("issuer") ?? issuer,
    ...(s("authorization_endpoint") ? { authorization_endpoint: s("authorization_endpoint") } : {}),
    ...(s("token_endpoint") ? { token_endpoint: s("token_endpoint") } : {}),
    ...(s("device_authorization_endpoint")
      ? { device_authorization_endpoint: s("device_authorization_endpoint") }
      : {}),
  };
}
