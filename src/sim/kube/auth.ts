// EKS authentication (aws-iam-authenticator's presigned GetCallerIdentity token), access-entry mapping
// and impersonation checks for the simulated API server.

export const ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
const TOKEN_PREFIX = "k8s-aws-v1.";
const ALLOWED_PARAMS = new Set([
  "action",
  "version",
  "x-amz-algorithm",
  "x-amz-credential",
  "x-amz-date",
  "x-amz-expires",
  "x-amz-security-token",
  "x-amz-signature",
  "x-amz-signedheaders",
]);
/** aws-iam-authenticator: a token is valid 15 minutes from its X-Amz-Date, whatever X-Amz-Expires says. */
const TOKEN_LIFETIME_MS = 15 * 60_000;
/** kube-apiserver caches successful webhook authentications for 2 minutes. */
const CACHE_TTL_MS = 120_000;

/** What EKS maps an access entry to; the AWS simulator's `accessEntryFor` answers this. */
export interface AccessEntryView {
  kubernetesGroups: string[];
  username?: string;
  policies: string[];
}

export type AccessEntryLookup = (
  clusterArn: string,
  principalArn: string,
) => AccessEntryView | undefined | Promise<AccessEntryView | undefined>;

export interface CallerIdentity {
  account: string;
  arn: string;
  userId: string;
}

/** The authenticated (and possibly impersonated) identity a request acts as. */
export interface RequestIdentity {
  /** Who authenticated: the IAM principal's Kubernetes username and groups. */
  caller: { arn: string; username: string; groups: string[]; policies: string[]; userId?: string };
  /** Who the request acts as (the impersonated user, or the caller). */
  user: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
  /** The caller's username when the request was impersonated. */
  impersonatedBy?: string;
}

export class AuthError extends Error {
  constructor(
    readonly code: 400 | 401 | 403,
    message: string,
    readonly details?: { name?: string; kind?: string },
    /** The authenticated caller, when authentication succeeded and a later check refused. */
    readonly identity?: RequestIdentity,
  ) {
    super(message);
  }
}

export interface Authenticator {
  /** Verifies the bearer token and impersonation headers; throws AuthError. */
  authenticate(headers: Headers): Promise<RequestIdentity>;
}

/** May `self` impersonate this user and these groups? Default: cluster admins only. */
export type ImpersonationCheck = (self: RequestIdentity, user: string, groups: string[]) => boolean;

const adminsOnly: ImpersonationCheck = (self) => isClusterAdmin(self.caller.policies, self.caller.groups);

export interface AuthenticatorOptions {
  clusterName: string;
  clusterArn: string;
  awsUrl: string;
  accessEntryFor: AccessEntryLookup;
  fetch?: typeof fetch;
  now?: () => number;
  mayImpersonate?: ImpersonationCheck;
}

/** Builds the EKS-style authenticator of one cluster. */
export function createAuthenticator(opts: AuthenticatorOptions): Authenticator {
  const now = opts.now ?? Date.now;
  const doFetch = opts.fetch ?? fetch;
  const stsHost = new URL(opts.awsUrl).host;
  const cache = new Map<string, { identity: CallerIdentity; until: number }>();

  async function verifyToken(token: string): Promise<CallerIdentity> {
    const hit = cache.get(token);
    if (hit && hit.until > now()) return hit.identity;
    cache.delete(token);
    const url = parseToken(token, stsHost, now());
    let res: Response;
    try {
      res = await doFetch(url, { headers: { "x-k8s-aws-id": opts.clusterName, Accept: "application/json" } });
    } catch (err) {
      throw new AuthError(401, `sts unreachable: ${(err as Error).message}`);
    }
    if (res.status !== 200)
      throw new AuthError(401, `sts answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    const body = (await res.json()) as {
      GetCallerIdentityResponse?: { GetCallerIdentityResult?: Record<string, string> };
    };
    const r = body.GetCallerIdentityResponse?.GetCallerIdentityResult;
    if (!r?.Arn || !r.Account) throw new AuthError(401, "sts answer without Arn/Account");
    const identity = { account: r.Account, arn: r.Arn, userId: r.UserId ?? "" };
    const expires = tokenExpiry(url);
    if (cache.size >= 10_000) {
      for (const [k, v] of cache) if (v.until <= now()) cache.delete(k);
    }
    cache.set(token, { identity, until: Math.min(now() + CACHE_TTL_MS, expires) });
    return identity;
  }

  return {
    async authenticate(headers) {
      const auth = headers.get("authorization") ?? "";
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      if (!m?.[1]) throw new AuthError(401, "no bearer token");
      const id = await verifyToken(m[1]);
      const entry = await opts.accessEntryFor(opts.clusterArn, id.arn);
      if (!entry) throw new AuthError(401, `no access entry for ${id.arn}`);
      const username = renderUsername(entry.username, id);
      const groups = unique([...entry.kubernetesGroups, "system:authenticated"]);
      const caller = { arn: id.arn, username, groups, policies: entry.policies, userId: id.userId };
      return applyImpersonation(headers, { caller, user: username, groups }, opts.mayImpersonate);
    },
  };
}

/** True when the identity may do anything (cluster admin policy or system:masters). */
export function isClusterAdmin(policies: string[], groups: string[]): boolean {
  return policies.includes(ADMIN_POLICY) || groups.includes("system:masters");
}

/** Applies Impersonate-* headers to an authenticated identity; throws AuthError 403 unless `may` allows it. */
export function applyImpersonation(
  headers: Headers,
  self: RequestIdentity,
  may: ImpersonationCheck = adminsOnly,
): RequestIdentity {
  const user = headers.get("impersonate-user") ?? undefined;
  const groupHeader = headers.get("impersonate-group");
  // Headers joins repeated values with ", "; group names cannot contain ", " in practice.
  const groups = groupHeader ? groupHeader.split(/,\s*/).filter(Boolean) : [];
  const uid = headers.get("impersonate-uid") ?? undefined;
  const extra: Record<string, string[]> = {};
  for (const [k, v] of headers) {
    if (k.startsWith("impersonate-extra-")) extra[decodeURIComponent(k.slice(18))] = v.split(/,\s*/);
  }
  const any = user !== undefined || groups.length > 0 || uid !== undefined || Object.keys(extra).length > 0;
  if (!any) return self;
  if (user === undefined)
    throw new AuthError(400, "requested impersonation of groups, uid or extra without impersonating a user");
  if (!may(self, user, groups)) {
    throw new AuthError(
      403,
      `users "${user}" is forbidden: User "${self.caller.username}" cannot impersonate resource "users" in API group "" at the cluster scope`,
      { name: user, kind: "users" },
      self,
    );
  }
  return {
    caller: self.caller,
    user,
    groups: unique([
      ...groups,
      ...(user.startsWith("system:serviceaccount:") ? ["system:serviceaccounts"] : []),
      "system:authenticated",
    ]),
    ...(uid !== undefined ? { uid } : {}),
    ...(Object.keys(extra).length ? { extra } : {}),
    impersonatedBy: self.caller.username,
  };
}

/** Decodes and checks a `k8s-aws-v1.` token the way aws-iam-authenticator does; returns the presigned URL. */
export function parseToken(token: string, stsHost: string, now: number): string {
  if (!token.startsWith(TOKEN_PREFIX)) throw new AuthError(401, "token lacks the k8s-aws-v1. prefix");
  if (token.length > 4096) throw new AuthError(401, "token too long");
  let url: URL;
  try {
    url = new URL(Buffer.from(token.slice(TOKEN_PREFIX.length), "base64url").toString("utf8"));
  } catch {
    throw new AuthError(401, "token is not a base64url URL");
  }
  if (url.host !== stsHost) throw new AuthError(401, `unexpected STS host ${url.host}`);
  if (url.pathname !== "/") throw new AuthError(401, "unexpected path in presigned URL");
  const seen = new Set<string>();
  for (const [k] of url.searchParams) {
    const key = k.toLowerCase();
    if (!ALLOWED_PARAMS.has(key)) throw new AuthError(401, `non-whitelisted query parameter ${k}`);
    if (seen.has(key)) throw new AuthError(401, `query parameter ${k} repeated`);
    seen.add(key);
  }
  const q = (name: string) => url.searchParams.get(name) ?? "";
  if (q("Action") !== "GetCallerIdentity") throw new AuthError(401, "not a GetCallerIdentity request");
  if (q("Version") !== "2011-06-15") throw new AuthError(401, "unexpected STS API version");
  for (const p of [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Expires",
  ]) {
    if (!q(p)) throw new AuthError(401, `missing ${p}`);
  }
  const expires = Number(q("X-Amz-Expires"));
  if (!Number.isInteger(expires) || expires < 0 || expires > 900)
    throw new AuthError(401, "X-Amz-Expires out of range");
  if (!q("X-Amz-SignedHeaders").toLowerCase().split(";").includes("x-k8s-aws-id")) {
    throw new AuthError(401, "x-k8s-aws-id is not a signed header");
  }
  if (tokenExpiry(url.toString()) <= now) throw new AuthError(401, "token expired");
  return url.toString();
}

function tokenExpiry(url: string): number {
  const d = new URL(url).searchParams.get("X-Amz-Date") ?? "";
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(d);
  if (!m) throw new AuthError(401, "malformed X-Amz-Date");
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) + TOKEN_LIFETIME_MS;
}

/** EKS username templates: {{SessionName}}, {{SessionNameRaw}}, {{AccountID}}; else the template or the ARN. */
function renderUsername(template: string | undefined, id: CallerIdentity): string {
  if (!template) return id.arn;
  const session = /:assumed-role\/[^/]+\/(.+)$/.exec(id.arn)?.[1] ?? "";
  return template
    .replaceAll("{{SessionName}}", session.replaceAll("@", "-"))
    .replaceAll("{{SessionNameRaw}}", session)
    .replaceAll("{{AccountID}}", id.account);
}

/** `arn:aws:sts::A:assumed-role/R/S` → `arn:aws:iam::A:role/R` (EKS's canonicalArn); other ARNs unchanged. */
export function canonicalArn(arn: string): string {
  const m = /^arn:(aws[\w-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(arn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : arn;
}

const unique = (xs: string[]) => [...new Set(xs)];
