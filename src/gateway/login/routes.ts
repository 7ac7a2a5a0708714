// The JSON routes `kubeport login` and `kubeport kube credentials` talk to, under /v1/auth/.
// A session secret goes in `Authorization: Bearer kps_…`; it opens these routes only (the cluster
// API wants a cluster token, which POST /v1/auth/cluster-token gives).
import type { Server } from "bun";
import { Hono } from "hono";
import { readBoundedText } from "../../lib/bounded-body.ts";
import { describeError, isKind, KubeportError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log.ts";
import { addressIp, type ClientAddresses } from "../client-address.ts";
import type { ClusterHealth } from "../health.ts";
import { statusCodeOf } from "../status.ts";
import { LockedOut } from "./attempts.ts";
import type { LoginService } from "./service.ts";

/** Login requests are a few hundred bytes; anything far bigger is refused unread. */
const MAX_BODY_BYTES = 64 * 1024;

export interface AuthRouteDeps {
  login: LoginService;
  log: Logger;
  clusterStatus?(): ClusterHealth[];
  /** The gateway's client-address rule (proxy_service.trusted_proxies); none: the peer's. */
  addresses?: ClientAddresses;
}

type Env = { Bindings: { server?: Server<unknown> } };

/**
 * The client's address, as audit and the rate limits take it: a trusted proxy's X-Forwarded-For
 * client, else the peer ("unknown" under app.request in tests). Failed sign-ins are counted per
 * address too: behind a load balancer the peer alone would be everyone's one address, so a few
 * bad passwords from anyone would lock everyone out.
 */
export const clientAddress = (req: Request, server?: Server<unknown>, addresses?: ClientAddresses): string =>
  (addresses ? addressIp(addresses.of(req, server)) : server?.requestIP(req)?.address) ?? "unknown";

const bearer = (h: string | undefined) => /^Bearer\s+(\S+)\s*$/i.exec(h ?? "")?.[1];

async function jsonBody(req: Request): Promise<Record<string, unknown>> {
  const text = await readBoundedText(req, MAX_BODY_BYTES, `the most ${new URL(req.url).pathname} reads`);
  try {
    const v = JSON.parse(text);
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {}
  throw new KubeportError("bad_parameter", "the request body must be a JSON object");
}

const str = (v: unknown, name: string, max = 4096): string => {
  if (typeof v !== "string" || v === "" || v.length > max)
    throw new KubeportError(
      "bad_parameter",
      `${name} must be a non-empty string of at most ${max} characters`,
    );
  return v;
};

const ttlOf = (v: unknown): number | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
    throw new KubeportError("bad_parameter", "ttl_s must be a positive number of seconds");
  return v * 1000;
};

/** An error as `{ error, retry_after_s? }` with its status (429 and Retry-After for a lockout). */
function errorJson(err: unknown, log: Logger): Response {
  if (err instanceof LockedOut) {
    const s = Math.ceil(err.retryAfterMs / 1000);
    return Response.json(
      { error: err.message, retry_after_s: s },
      { status: 429, headers: { "retry-after": String(s) } },
    );
  }
  const code = statusCodeOf(err);
  if (code >= 500) log.warn({ err: describeError(err) }, "auth request failed");
  const message = code >= 500 && !isKind(err, "unavailable") ? "internal error" : (err as Error).message;
  return Response.json({ error: message }, { status: code });
}

const sessionView = (
  s: { expiresAt: number; identity: { user: string; roles: string[] } },
  secret?: string,
) => ({
  ...(secret ? { session: secret } : {}),
  user: s.identity.user,
  roles: s.identity.roles,
  expires: new Date(s.expiresAt).toISOString(),
});

/** Mounts /v1/auth/* on `app`. */
export function authRoutes({ login, log, clusterStatus, addresses }: AuthRouteDeps): Hono<Env> {
  const app = new Hono<Env>();
  app.onError((err) => errorJson(err, log));
  app.get("/config", (c) => c.json(login.settings()));

  app.post("/login", async (c) => {
    const b = await jsonBody(c.req.raw);
    const signed = await login.passwordLogin({
      user: str(b.user, "user", 253),
      password: str(b.password, "password"),
      code: str(b.code, "code", 16),
      address: clientAddress(c.req.raw, c.env?.server, addresses),
      client: "cli",
      ttlMs: ttlOf(b.ttl_s),
    });
    return c.json(sessionView(signed, signed.secret));
  });

  app.post("/oidc", async (c) => {
    const b = await jsonBody(c.req.raw);
    const signed = await login.oidcLogin({
      idToken: str(b.id_token, "id_token", 16_384),
      client: "cli",
      ttlMs: ttlOf(b.ttl_s),
    });
    return c.json(sessionView(signed, signed.secret));
  });

  /** The session a request's bearer secret opens (401 with how to sign in again when none). */
  const sessionOf = async (h: string | undefined) => {
    const s = await login.session(bearer(h));
    if (!s)
      throw new KubeportError(
        "unauthenticated",
        "not signed in, or the login session has ended: run kubeport login",
      );
    return s;
  };

  app.get("/session", async (c) => {
    const { session, identity } = await sessionOf(c.req.header("authorization"));
    return c.json(sessionView({ identity, expiresAt: Date.parse(session.metadata.expires!) }));
  });

  app.delete("/session", async (c) => {
    const ended = await login.logout(bearer(c.req.header("authorization")));
    return c.json({ ended });
  });

  app.get("/clusters", async (c) => {
    const { identity } = await sessionOf(c.req.header("authorization"));
    const health = new Map((clusterStatus?.() ?? []).map((h) => [h.name, h]));
    return c.json(
      login.clusters(identity).map((k) => ({
        name: k.metadata.name,
        labels: k.metadata.labels ?? {},
        health: health.get(k.metadata.name) ?? null,
      })),
    );
  });

  app.post("/cluster-token", async (c) => {
    const { session, identity } = await sessionOf(c.req.header("authorization"));
    const b = await jsonBody(c.req.raw);
    const t = await login.clusterToken(session, identity, str(b.cluster, "cluster", 253));
    return c.json({ token: t.token, expires: new Date(t.expiresAt).toISOString() });
  });
  return app;
}
