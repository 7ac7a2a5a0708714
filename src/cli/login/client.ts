// The gateway's /v1/auth API from the CLI's side, trusting what the profile (or --ca-file/--insecure) says.
import { egressFetch } from "../../lib/egress/index.ts";
import { KubeportError } from "../../lib/errors.ts";

export interface Trust {
  caPem?: string;
  insecure?: boolean;
}

export interface SessionAnswer {
  session?: string;
  user: string;
  roles: string[];
  expires: string;
}

export interface ClusterEntry {
  name: string;
  labels: Record<string, string>;
  health: { status: string; error?: string; lastCheck?: string; version?: string } | null;
}

export interface AuthConfig {
  proxy: string;
  local: boolean;
  issuers: { name: string; issuer_url: string; client_id: string; scopes: string[] }[];
  session_ttl_s: number;
}

/** A refusal from the gateway: its status and message (`retry_after_s` on a lockout). */
export class GatewayRefusal extends KubeportError {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterS?: number,
  ) {
    super(
      status === 401
        ? "unauthenticated"
        : status === 403 || status === 429
          ? "access_denied"
          : status === 404
            ? "not_found"
            : status >= 500
              ? "unavailable"
              : "bad_parameter",
      message,
    );
  }
}

export function gatewayClient(proxy: string, trust: Trust = {}) {
  const base = `https://${proxy}/v1/auth`;
  const call = async <T>(
    method: string,
    path: string,
    opts: { session?: string; body?: unknown } = {},
  ): Promise<T> => {
    const headers: Record<string, string> = { accept: "application/json" };
    if (opts.session) headers.authorization = `Bearer ${opts.session}`;
    if (opts.body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await egressFetch(base + path, {
        method,
        headers,
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        signal: AbortSignal.timeout(30_000),
        ...(trust.caPem
          ? { tls: { ca: trust.caPem } }
          : trust.insecure
            ? { tls: { rejectUnauthorized: false } }
            : {}),
      } as RequestInit);
    } catch (err) {
      const m = (err as Error).message;
      const hint = /certificate|self.signed|unable to verify|UNABLE_TO_GET_ISSUER/i.test(m)
        ? " (the gateway's certificate is not trusted here: pass --ca-file with its CA, or --insecure to skip the check)"
        : "";
      throw new KubeportError("unavailable", `cannot reach the gateway at https://${proxy}: ${m}${hint}`, {
        cause: err,
      });
    }
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text);
    } catch {
      if (res.ok)
        throw new KubeportError(
          "unavailable",
          `https://${proxy}${path}: not a kubeport gateway (no JSON answer)`,
        );
    }
    if (!res.ok)
      throw new GatewayRefusal(
        res.status,
        typeof body.error === "string"
          ? body.error
          : typeof body.message === "string"
            ? body.message
            : `HTTP ${res.status}`,
        typeof body.retry_after_s === "number" ? body.retry_after_s : undefined,
      );
    return body as T;
  };
  return {
    config: () => call<AuthConfig>("GET", "/config"),
    passwordLogin: (user: string, password: string, code: string, ttlS?: number) =>
      call<SessionAnswer>("POST", "/login", {
        body: { user, password, code, ...(ttlS ? { ttl_s: ttlS } : {}) },
      }),
    oidcLogin: (idToken: string, ttlS?: number) =>
      call<SessionAnswer>("POST", "/oidc", { body: { id_token: idToken, ...(ttlS ? { ttl_s: ttlS } : {}) } }),
    session: (session: string) => call<SessionAnswer>("GET", "/session", { session }),
    clusters: (session: string) => call<ClusterEntry[]>("GET", "/clusters", { session }),
    clusterToken: (session: string, cluster: string) =>
      call<{ token: string; expires: string }>("POST", "/cluster-token", { session, body: { cluster } }),
    logout: (session: string) => call<{ ended: boolean }>("DELETE", "/session", { session }),
  };
}

export type GatewayClient = ReturnType<typeof gatewayClient>;
