// `kubeport login`, `kubeport logout`, `kubeport status`: a person's login session with a gateway
// (the names tsh users type, under kubeport).
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { parseDuration } from "../../lib/duration.ts";
import { describeError } from "../../lib/errors.ts";
import { contextName } from "../../lib/kubeconfig.ts";
import { stringOpt, UsageError } from "../args.ts";
import type { Command, CommandContext } from "../command.ts";
import { gatewayClient, type Trust } from "../login/client.ts";
import { currentContext, kubeconfigPath, removeFromKubeconfigFile } from "../login/kubeconfig-file.ts";
import { normalizeProxy, type Profile, Profiles } from "../login/profile.ts";
import { afterSignIn, signIn, validity } from "../login/session.ts";
import { OUTPUT_OPTIONS, parseOutput, renderOutput } from "../output.ts";

export const PROXY_OPTION = {
  type: "string",
  valueName: "URL",
  description: "the gateway, e.g. https://kubeport.example.com:3080 (default: the last one signed in to)",
} as const;
export const KUBECONFIG_OPTION = {
  type: "string",
  valueName: "FILE",
  description: "kubeconfig to write contexts to (default $KUBECONFIG's first file, else ~/.kube/config)",
} as const;

/** The gateway a command is about: --proxy, else the last login's. */
export function proxyOf(ctx: CommandContext, profiles: Profiles): string {
  const given = stringOpt(ctx.values, "proxy");
  if (given) return normalizeProxy(given);
  const current = profiles.current();
  if (!current)
    throw new UsageError("not signed in to any gateway: run kubeport login --proxy https://GATEWAY");
  return current;
}

/** The trust a command uses: --ca-file / --insecure, else what the profile recorded. */
function trustOf(ctx: CommandContext, profile?: Profile): Trust {
  const caFile = stringOpt(ctx.values, "ca-file");
  if (caFile) {
    try {
      return { caPem: readFileSync(caFile, "utf8") };
    } catch (err) {
      throw new UsageError(`--ca-file: cannot read ${caFile}: ${(err as Error).message}`);
    }
  }
  if (ctx.values.insecure === true) return { insecure: true };
  return {
    ...(profile?.ca_pem ? { caPem: profile.ca_pem } : {}),
    ...(profile?.insecure ? { insecure: true } : {}),
  };
}

export const loginCommand: Command = {
  name: "login",
  summary:
    "Sign in to a kubeport gateway (password + authenticator code, or your SSO) and write kubeconfig contexts.",
  options: {
    proxy: PROXY_OPTION,
    user: {
      type: "string",
      valueName: "NAME",
      description: "a local user (asks for the password and authenticator code)",
    },
    auth: {
      type: "string",
      valueName: "HOW",
      description:
        "local, or an SSO issuer's name (default: local with --user, else the gateway's first issuer)",
    },
    headless: {
      type: "boolean",
      description: "SSO on a host without a browser: approve a code on another device (device grant)",
    },
    browser: {
      type: "string",
      valueName: "none",
      description: "none: print the sign-in URL instead of opening a browser",
    },
    ttl: {
      type: "string",
      valueName: "DURATION",
      description: "a shorter session (default the gateway's, 12h; roles may cap it)",
    },
    "kube-cluster": {
      type: "string",
      valueName: "NAME",
      description: "also select this cluster (as kubeport kube login NAME)",
    },
    kubeconfig: KUBECONFIG_OPTION,
    "ca-file": {
      type: "string",
      valueName: "FILE",
      description: "the CA that signed the gateway's certificate (remembered)",
    },
    insecure: {
      type: "boolean",
      description: "do not check the gateway's certificate (remembered; for tests only)",
    },
  },
  help: [
    "Examples:",
    "  kubeport login --proxy https://kubeport.example.com:3080 --user alice",
    "  kubeport login --proxy https://kubeport.example.com:3080            # SSO in your browser",
    "  kubeport login --proxy https://kubeport.example.com:3080 --headless # SSO with a code, no browser here",
    "  kubectl --context kubeport.example.com-prod get pods",
    "",
    "The session lives under ~/.kubeport/ (0600); kubectl asks `kubeport kube credentials` for short-lived",
    "per-cluster tokens from it, renewed without asking until the session ends.",
  ].join("\n"),
  async run(ctx) {
    const profiles = Profiles.of(ctx.env);
    const given = stringOpt(ctx.values, "proxy");
    const proxy = given ? normalizeProxy(given) : profiles.current();
    if (!proxy)
      throw new UsageError("missing --proxy (the gateway's address, e.g. https://kubeport.example.com:3080)");
    const ttlText = stringOpt(ctx.values, "ttl");
    const ttlMs = ttlText === undefined ? undefined : parseDuration(ttlText);
    if (ttlText !== undefined && !(ttlMs && ttlMs > 0))
      throw new UsageError(`--ttl: "${ttlText}" is not a duration (e.g. 8h)`);
    const old = profiles.get(proxy);
    const trust = trustOf(ctx, old);
    const client = gatewayClient(proxy, trust);
    const settings = await client.config();
    const { answer, source, issuer } = await signIn({
      proxy,
      client,
      settings,
      auth: stringOpt(ctx.values, "auth"),
      user: stringOpt(ctx.values, "user"),
      headless: ctx.values.headless === true,
      browser: stringOpt(ctx.values, "browser"),
      ...(ttlMs ? { ttlS: Math.ceil(ttlMs / 1000) } : {}),
      env: ctx.env,
      say: (t) => ctx.err(t),
      signal: ctx.signal,
    });
    // The old session (if any) is over: one profile per gateway.
    if (old && old.session !== answer.session) await client.logout(old.session).catch(() => {});
    const profile: Profile = {
      proxy,
      user: answer.user,
      session: answer.session!,
      expires: answer.expires,
      source,
      ...(issuer ? { issuer } : {}),
      ...(trust.caPem ? { ca_pem: trust.caPem } : {}),
      ...(trust.insecure ? { insecure: true } : {}),
      roles: answer.roles,
    };
    const kubeconfig = kubeconfigPath(ctx.env, stringOpt(ctx.values, "kubeconfig"));
    const select = stringOpt(ctx.values, "kube-cluster");
    const clusters = await afterSignIn(profiles, profile, client, kubeconfig, ctx.env, select);
    ctx.out(
      [
        `> Profile URL:        https://${proxy}`,
        `  Logged in as:       ${answer.user}`,
        `  Roles:              ${answer.roles.join(", ") || "(none)"}`,
        `  Kubernetes:         ${clusters.length === 0 ? "no cluster reachable" : `${clusters.length} cluster${clusters.length === 1 ? "" : "s"}: ${clusters.map((c) => c.name).join(", ")}`}`,
        `  Kubeconfig:         ${clusters.length === 0 ? "unchanged" : `${kubeconfig} (contexts ${contextName(proxy, "<cluster>")})`}`,
        `  Valid until:        ${validity(answer.expires)}`,
        "",
        select
          ? `Selected ${select}: kubectl get pods`
          : clusters[0]
            ? `Select a cluster: kubeport kube login ${clusters[0].name}   (or kubectl --context ${contextName(proxy, clusters[0].name)} …)`
            : "",
        "",
      ].join("\n"),
    );
  },
};

export const logoutCommand: Command = {
  name: "logout",
  summary: "End the login session (on the gateway too) and remove its kubeconfig contexts.",
  options: {
    proxy: { ...PROXY_OPTION, description: "only this gateway (default: every gateway signed in to)" },
    kubeconfig: KUBECONFIG_OPTION,
  },
  async run(ctx) {
    const profiles = Profiles.of(ctx.env);
    const given = stringOpt(ctx.values, "proxy");
    const list = given
      ? [profiles.get(normalizeProxy(given))].filter((p): p is Profile => !!p)
      : profiles.all();
    if (list.length === 0) return void ctx.out("Not signed in.\n");
    const kubeconfig = kubeconfigPath(ctx.env, stringOpt(ctx.values, "kubeconfig"));
    for (const p of list) {
      const client = gatewayClient(p.proxy, {
        ...(p.ca_pem ? { caPem: p.ca_pem } : {}),
        ...(p.insecure ? { insecure: true } : {}),
      });
      // Signing out here must work even when the gateway cannot be reached; say so then.
      const ended = await client.logout(p.session).then(
        () => undefined,
        (err) => describeError(err),
      );
      const ours = (await client.clusters(p.session).catch(() => [])).map((c) =>
        contextName(p.proxy, c.name),
      );
      removeOurContexts(kubeconfig, p.proxy, ours);
      profiles.remove(p.proxy);
      ctx.out(
        `Logged out ${p.user} from ${p.proxy}.${ended ? ` (The gateway was not told: ${ended}.)` : ""}\n`,
      );
    }
  },
};

/** Removes this gateway's contexts (those named <host>-… that run kube credentials --proxy=<proxy>). */
function removeOurContexts(kubeconfig: string, proxy: string, known: string[]): void {
  const names = new Set(known);
  try {
    const doc = parse(readFileSync(kubeconfig, "utf8")) as {
      users?: { name: string; user?: { exec?: { args?: string[] } } }[];
    };
    for (const u of doc?.users ?? []) if (u.user?.exec?.args?.includes(`--proxy=${proxy}`)) names.add(u.name);
  } catch {}
  if (names.size > 0) removeFromKubeconfigFile(kubeconfig, names);
}

export const statusCommand: Command = {
  name: "status",
  summary: "Show the login session: gateway, user, roles, how long it lasts, the selected cluster.",
  options: { proxy: PROXY_OPTION, kubeconfig: KUBECONFIG_OPTION, ...OUTPUT_OPTIONS },
  async run(ctx) {
    const out = parseOutput(ctx.values);
    const profiles = Profiles.of(ctx.env);
    const given = stringOpt(ctx.values, "proxy");
    const list = given
      ? [profiles.get(normalizeProxy(given))].filter((p): p is Profile => !!p)
      : profiles.all();
    const current = currentContext(kubeconfigPath(ctx.env, stringOpt(ctx.values, "kubeconfig")));
    const rows = list.map((p) => {
      const selected = current?.startsWith(`${contextName(p.proxy, "")}`)
        ? current.slice(contextName(p.proxy, "").length)
        : undefined;
      return {
        proxy: p.proxy,
        user: p.user,
        roles: p.roles,
        source: p.source,
        ...(p.issuer ? { issuer: p.issuer } : {}),
        expires: p.expires,
        valid: Date.parse(p.expires) > Date.now(),
        ...(selected ? { kube_cluster: selected } : {}),
      };
    });
    if (out === "json" || out === "yaml") return void ctx.out(renderOutput(out, rows));
    if (out === "name") return void ctx.out(rows.map((r) => `${r.proxy}\n`).join(""));
    if (rows.length === 0)
      return void ctx.out("Not signed in. Run: kubeport login --proxy https://GATEWAY\n");
    for (const r of rows)
      ctx.out(
        [
          `> Profile URL:        https://${r.proxy}${r.proxy === profiles.current() ? "" : " (not the current one)"}`,
          `  Logged in as:       ${r.user}${r.issuer ? ` (via ${r.issuer})` : ""}`,
          `  Roles:              ${r.roles.join(", ") || "(none)"}`,
          `  Kubernetes cluster: ${r.kube_cluster ?? "(none selected: kubeport kube login NAME)"}`,
          `  Valid until:        ${validity(r.expires)}`,
          "",
        ].join("\n"),
      );
  },
};
