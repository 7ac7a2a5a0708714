// Signing in (every way kubeport offers) and what a new session leaves behind: the profile and the
// kubeconfig contexts of every cluster the person may reach.
import { formatDuration } from "../../lib/duration.ts";
import { KubeportError } from "../../lib/errors.ts";
import { contextName, execKubeconfig } from "../../lib/kubeconfig.ts";
import { UsageError } from "../args.ts";
import {
  type AuthConfig,
  type ClusterEntry,
  type GatewayClient,
  GatewayRefusal,
  type SessionAnswer,
} from "./client.ts";
import { mergeIntoKubeconfig } from "./kubeconfig-file.ts";
import { browserLogin, deviceLogin } from "./oidc-login.ts";
import type { Profile, Profiles } from "./profile.ts";
import { ask } from "./prompt.ts";
import { selfCommand } from "./self-command.ts";

export interface SignInOptions {
  proxy: string;
  client: GatewayClient;
  settings: AuthConfig;
  /** "local", an issuer's name or URL, or undefined (local with --user, else the only/first issuer). */
  auth?: string;
  user?: string;
  headless?: boolean;
  browser?: string;
  ttlS?: number;
  env: Record<string, string | undefined>;
  say(text: string): void;
  signal?: AbortSignal;
}

/** Which way to sign in: local (password + TOTP) or an issuer. */
export function chooseAuth(settings: AuthConfig, auth: string | undefined, user: string | undefined) {
  if (auth === "local" || (auth === undefined && (user !== undefined || settings.issuers.length === 0)))
    return { local: true as const };
  const issuer =
    auth === undefined
      ? settings.issuers[0]
      : settings.issuers.find(
          (i) => i.name === auth || i.issuer_url.replace(/\/+$/, "") === auth.replace(/\/+$/, ""),
        );
  if (!issuer)
    throw new UsageError(
      `--auth: "${auth}" is not a way this gateway signs people in (local${settings.issuers.map((i) => `, ${i.name}`).join("")})`,
    );
  return { local: false as const, issuer };
}

export async function signIn(
  o: SignInOptions,
): Promise<{ answer: SessionAnswer; source: "local" | "oidc"; issuer?: string }> {
  const how = chooseAuth(o.settings, o.auth, o.user);
  if (how.local) {
    const user = o.user ?? (await ask("User: ")).trim();
    if (!user) throw new UsageError("a user name is needed (--user NAME)");
    const password = await ask(`Enter password for kubeport user ${user}: `, { secret: true });
    const code = (await ask("Enter your authenticator code: ")).trim();
    try {
      return { answer: await o.client.passwordLogin(user, password, code, o.ttlS), source: "local" };
    } catch (err) {
      if (err instanceof GatewayRefusal && err.status === 429)
        throw new KubeportError("access_denied", `${err.message}${err.retryAfterS ? "" : ""}`);
      throw err;
    }
  }
  const issuer = { ...how.issuer, scopes: how.issuer.scopes?.length ? how.issuer.scopes : ["openid"] };
  const flow = {
    issuer,
    env: o.env,
    say: o.say,
    ...(o.browser ? { browser: o.browser } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  };
  const idToken = o.headless ? await deviceLogin(flow) : await browserLogin(flow);
  return { answer: await o.client.oidcLogin(idToken, o.ttlS), source: "oidc", issuer: how.issuer.issuer_url };
}

/** Stores the profile and writes a context per reachable cluster; returns the clusters. */
export async function afterSignIn(
  profiles: Profiles,
  profile: Profile,
  client: GatewayClient,
  kubeconfig: string,
  env: Record<string, string | undefined>,
  select?: string,
): Promise<ClusterEntry[]> {
  profiles.save(profile);
  const clusters = await client.clusters(profile.session);
  if (select && !clusters.some((c) => c.name === select))
    throw new KubeportError(
      "not_found",
      `you may not reach cluster "${select}" (kubeport kube ls lists yours)`,
    );
  if (clusters.length > 0)
    mergeIntoKubeconfig(
      kubeconfig,
      execKubeconfig({
        proxy: profile.proxy,
        clusters: clusters.map((c) => c.name),
        self: selfCommand(env),
        ...(profile.ca_pem ? { caData: Buffer.from(profile.ca_pem).toString("base64") } : {}),
        ...(profile.insecure ? { insecure: true } : {}),
        ...(select ? { current: contextName(profile.proxy, select) } : {}),
      }),
      { setCurrent: select !== undefined },
    );
  return clusters;
}

/** "valid until 2026-12-03 22:10 UTC [12h]" as tsh's status shows it. */
export function validity(expires: string, now = Date.now()): string {
  const ms = Date.parse(expires) - now;
  const at = new Date(expires)
    .toISOString()
    .replace("T", " ")
    .replace(/:\d\d\.\d+Z$/, " UTC");
  return ms > 0 ? `valid until ${at} [${formatDuration(ms)} left]` : `EXPIRED at ${at}`;
}
