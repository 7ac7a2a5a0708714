// The Device Authorization Grant (RFC 8628) for hosts without a browser: start, then poll.
import { egressFetch } from "../egress/index.ts";
import { OAuthError, type TokenResponse, tokenRequest } from "./token-request.ts";

export interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  /** Seconds. */
  expires_in: number;
  /** Seconds between polls (default 5, §3.2). */
  interval?: number;
}

export const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

export async function startDeviceAuthorization(
  endpoint: string,
  clientId: string,
  scopes: readonly string[],
): Promise<DeviceAuthorization> {
  const res = await egressFetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({ client_id: clientId, scope: scopes.join(" ") }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok || typeof body.device_code !== "string" || typeof body.user_code !== "string")
    throw new OAuthError(
      typeof body.error === "string" ? body.error : `http_${res.status}`,
      typeof body.error_description === "string" ? body.error_description : "no device_code in the answer",
    );
  return body as unknown as DeviceAuthorization;
}

export interface PollOptions {
  tokenEndpoint: string;
  clientId: string;
  device: DeviceAuthorization;
  /** Waits (injected so tests need not wait 5 s a poll). */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  signal?: AbortSignal;
}

/**
 * Polls until the person approves (the tokens), refuses (`access_denied`) or the code expires
 * (`expired_token`, or its expires_in passing): never faster than `interval`, and 5 s slower for
 * every `slow_down` (§3.5).
 */
export async function pollDeviceToken({
  tokenEndpoint,
  clientId,
  device,
  sleep = (ms) => new Promise((r) => setTimeout(r, ms)),
  now = Date.now,
  signal,
}: PollOptions): Promise<TokenResponse> {
  let intervalMs = Math.max(1, device.interval ?? 5) * 1000;
  const deadline = now() + device.expires_in * 1000;
  for (;;) {
    await sleep(intervalMs);
    signal?.throwIfAborted();
    if (now() > deadline)
      throw new OAuthError("expired_token", "the device code expired before it was approved");
    try {
      return await tokenRequest(tokenEndpoint, {
        grant_type: DEVICE_GRANT,
        device_code: device.device_code,
        client_id: clientId,
      });
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      if (err.code === "authorization_pending") continue;
      if (err.code === "slow_down") {
        intervalMs += 5000;
        continue;
      }
      throw err;
    }
  }
}
