// POSTs to a token endpoint (form-encoded, RFC 6749 §4.1.3 / RFC 8628 §3.4) and reads the answer.
import { egressFetch } from "../egress/index.ts";

export interface TokenResponse {
  id_token?: string;
  access_token?: string;
  token_type?: string;
  expires_in?: number;
}

/** An OAuth error answer (`error`, `error_description`). */
export class OAuthError extends Error {
  constructor(
    readonly code: string,
    description?: string,
  ) {
    super(description ? `${code}: ${description}` : code);
    this.name = "OAuthError";
  }
}

export async function tokenRequest(
  endpoint: string,
  params: Record<string, string>,
  { clientSecret, timeoutMs = 10_000 }: { clientSecret?: string; timeoutMs?: number } = {},
): Promise<TokenResponse> {
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json",
  };
  // client_secret_basic (RFC 6749 §2.3.1) for confidential clients; public clients send client_id only.
  if (clientSecret)
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(params.client_id ?? "")}:${encodeURIComponent(clientSecret)}`).toString("base64")}`;
  const res = await egressFetch(endpoint, {
    method: "POST",
    headers,
    body: new URLSearchParams(params).toString(),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`${endpoint}: HTTP ${res.status}, not JSON`);
  }
  if (!res.ok || typeof body.error === "string")
    throw new OAuthError(
      typeof body.error === "string" ? body.error : `http_${res.status}`,
      typeof body.error_description === "string" ? body.error_description : undefined,
    );
  return body as TokenResponse;
}
