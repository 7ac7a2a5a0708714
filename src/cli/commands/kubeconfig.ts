// `kubeport kubeconfig --user NAME`: a kubeconfig with one context per cluster the user may reach;
// `--oidc`: the same for people of an OIDC issuer, with kubelogin fetching their token.
import { existsSync } from "node:fs";
import { chmod, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Config, OidcIssuerConfig } from "../../config/index.ts";
import {
  createStaticAuthorizer,
  fetchDiscovery,
  type Identity,
  issuerKey,
  issueUserToken,
  kubeportIssuer,
  makeServedFilter,
  rolesForGroups,
} from "../../gateway/index.ts";
import { badParameter, describeError, notFound } from "../../lib/errors.ts";
import { readCertificates } from "../../lib/pem-files.ts";
import type { KubeCluster, Role, User } from "../../registry/index.ts";
import { stringOpt, UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { documentFormat, renderOutput } from "../output.ts";
import { TTL_OPTION, ttlOption } from "./auth.ts";

/** A client-go exec credential plugin (kubectl runs it for a token when it needs one). */
export interface ExecCredentialPlugin {
  command: string;
  args: string[];
}

export interface KubeconfigInput {
  /** host:port of the gateway as kubectl reaches it. */
  publicAddr: string;
  /** base64 of the PEM bundle kubectl trusts for the gateway. */
  caData: string;
  /** The kubeconfig user entry is `kubeport-<user>`. */
  user: string;
  /** A bearer token, or a plugin that fetches one (OIDC). */
  token?: string;
  exec?: ExecCredentialPlugin;
  /** Cluster names, in the order the contexts are written; the first is the current context. */
  clusters: readonly string[];
}

/** The kubeconfig document: cluster/context = kubeport cluster name, user = `kubeport-<user>`. */
export function buildKubeconfig({
  publicAddr,
  caData,
  user,
  token,
  exec,
  clusters,
}: KubeconfigInput): Record<string, unknown> {
  const userName = `kubeport-${user}`;
  const credential = exec
    ? {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1beta1",
          command: exec.command,
          args: exec.args,
          // A browser login may be needed; kubectl passes the terminal through when there is one.
          interactiveMode: "IfAvailable",
          provideClusterInfo: false,
        },
      }
    : { token };
  return {
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    clusters: clusters.map((name) => ({
      name,
      cluster: {
        server: `https://${publicAddr}/v1/clusters/${encodeURIComponent(name)}`,
        "certificate-authority-data": caData,
      },
    })),
    users: [{ name: userName, user: credential }],
    contexts: clusters.map((name) => ({ name, context: { cluster: name, user: userName } })),
    "current-context": clusters[0] ?? "",
  };
}

/**
 * The PEM bundle kubectl must trust: `--ca-file`, else the configured certificate's chain, else the
 * CA the gateway made in `<data_dir>/tls/ca.pem`. Returned base64-encoded.
 */
export async function gatewayCaData(config: Config, caFile?: string): Promise<string> {
  const pair = config.proxy_service.https_keypairs[0];
  const path = caFile ?? pair?.cert_file ?? join(config.kubeport.data_dir, "tls", "ca.pem");
  if (!existsSync(path)) {
    throw notFound(
      caFile || pair
        ? `certificate file ${path} does not exist`
        : `no gateway CA at ${path}: start the gateway once (it creates its CA there), or pass --ca-file with the gateway's CA`,
    );
  }
  const key = caFile ? "--ca-file" : pair ? "proxy_service.https_keypairs[0].cert_file" : "kubeport.data_dir";
  return Buffer.from(readCertificates({ key, path })).toString("base64");
}

/** The clusters `identity` may reach through this gateway (all it serves without one), by name. */
export function reachableClusters(
  config: Config,
  identity: Identity | undefined,
  roles: readonly Role[],
  clusters: readonly KubeCluster[],
): KubeCluster[] {
  const served = clusters.filter(makeServedFilter(config.kubernetes_service.resources.map((r) => r.labels)));
  return (identity ? createStaticAuthorizer(roles).visibleClusters(identity, served) : served).sort((a, b) =>
    a.metadata.name.localeCompare(b.metadata.name),
  );
}

/** The configured OIDC issuer `--issuer` names, or the only one configured. */
function oidcIssuer(config: Config, wanted: string | undefined): OidcIssuerConfig {
  const all = config.proxy_service.oidc;
  const names = all.map((o) => o.issuer_url).join(", ");
  if (all.length === 0)
    throw badParameter("--oidc: proxy_service.oidc lists no issuer (see the README's OIDC section)");
  if (wanted === undefined) {
    if (all.length === 1) return all[0]!;
    throw new UsageError(`--oidc: ${all.length} issuers are configured; pick one with --issuer (${names})`);
  }
  const hit = all.find((o) => issuerKey(o.issuer_url) === issuerKey(wanted));
  if (!hit) throw badParameter(`--issuer ${wanted} is not in proxy_service.oidc (${names})`);
  return hit;
}

/**
 * The issuer URL kubelogin must be given: the `issuer` of the discovery document, byte for byte
 * (kubelogin refuses any difference, a trailing slash included; the gateway forgives one). When the
 * document cannot be read or names another issuer, the configured URL and a note saying so.
 */
export async function discoveredIssuer(
  oidc: OidcIssuerConfig,
  timeoutMs = 3000,
): Promise<{ issuer: string; note?: string }> {
  try {
    const { issuer } = await fetchDiscovery(oidc.issuer_url, timeoutMs);
    if (typeof issuer === "string" && issuerKey(issuer) === issuerKey(oidc.issuer_url)) return { issuer };
    return {
      issuer: oidc.issuer_url,
      note: `${oidc.issuer_url}'s discovery document names issuer ${JSON.stringify(issuer)}: fix proxy_service.oidc issuer_url`,
    };
  } catch (err) {
    return {
      issuer: oidc.issuer_url,
      note: `could not read ${issuerKey(oidc.issuer_url)}/.well-known/openid-configuration (${describeError(err)}): --oidc-issuer-url is written as configured; kubelogin needs it exactly as the issuer's discovery document has it`,
    };
  }
}

/**
 * The exec plugin for an OIDC issuer: kubelogin's get-token (as the `kubectl oidc-login` plugin by
 * default), asking for the claims kubeport reads: `email` or `profile` for the username claim, and
 * `extraScopes` (e.g. groups, for issuers that send groups only when asked; not added by default
 * because some issuers refuse a scope they do not know).
 */
export function oidcExecPlugin(
  oidc: OidcIssuerConfig,
  {
    command = "kubectl",
    extraScopes = [],
    issuer = oidc.issuer_url,
  }: { command?: string; extraScopes?: readonly string[]; issuer?: string } = {},
): ExecCredentialPlugin {
  const scopes = new Set(extraScopes);
  // Standard OIDC scopes that carry the username claims issuers most often use.
  if (oidc.username_claim === "email") scopes.add("email");
  if (["preferred_username", "name", "nickname"].includes(oidc.username_claim)) scopes.add("profile");
  return {
    command,
    args: [
      // `kubectl oidc-login get-token …`; a standalone kubelogin binary takes `get-token …`.
      ...(basename(command) === "kubectl" ? ["oidc-login"] : []),
      "get-token",
      `--oidc-issuer-url=${issuer}`,
      `--oidc-client-id=${oidc.audience}`,
      ...[...scopes].map((s) => `--oidc-extra-scope=${s}`),
    ],
  };
}

export const kubeconfigCommand: Command = {
  name: "kubeconfig",
  summary: "Write a kubeconfig for a user: one context per cluster they may reach.",
  options: {
    config: {
      type: "string",
      short: "c",
      valueName: "FILE",
      description: "config file (default $KUBEPORT_CONFIG or /etc/kubeport.yaml)",
    },
    user: { type: "string", valueName: "NAME", description: "the kubeport user (a token is written in)" },
    oidc: {
      type: "boolean",
      description: "for people of proxy_service.oidc: kubectl gets their token from kubelogin (oidc-login)",
    },
    issuer: {
      type: "string",
      valueName: "URL",
      description: "with --oidc: which configured issuer (needed when there are several)",
    },
    groups: {
      type: "string",
      valueName: "G1,G2",
      description: "with --oidc: only the clusters these issuer groups reach (default: every served cluster)",
    },
    "exec-command": {
      type: "string",
      valueName: "CMD",
      description:
        "with --oidc: the plugin kubectl runs (default kubectl, as `kubectl oidc-login`; or kubelogin)",
    },
    "extra-scope": {
      type: "string",
      valueName: "S1,S2",
      description: "with --oidc: more scopes to ask the issuer for (e.g. groups)",
    },
    cluster: { type: "string", valueName: "NAME", description: "only this cluster" },
    ttl: TTL_OPTION,
    out: {
      type: "string",
      valueName: "FILE",
      description: "write here (mode 0600) instead of stdout",
    },
    output: {
      type: "string",
      short: "o",
      valueName: "FORMAT",
      description: "yaml (default) or json, as kubectl config view -o",
    },
    "ca-file": {
      type: "string",
      valueName: "FILE",
      description: "CA bundle kubectl should trust (default: the gateway's CA in data_dir)",
    },
    proxy: {
      type: "string",
      valueName: "HOST:PORT",
      description: "gateway address (default proxy_service.public_addr)",
    },
  },
  help: [
    "Examples:",
    "  kubeport kubeconfig --user alice --out alice.kubeconfig",
    "  KUBECONFIG=alice.kubeconfig kubectl get pods",
    "",
    "  # SSO people (proxy_service.oidc): no token inside, kubectl asks kubelogin for one",
    "  # (install it once: kubectl krew install oidc-login). Hand the same file to everyone:",
    "  kubeport kubeconfig --oidc --out team.kubeconfig",
    "  kubeport kubeconfig --oidc --groups sre --out sre.kubeconfig   # only what group sre reaches",
  ].join("\n"),
  async run(ctx) {
    const name = stringOpt(ctx.values, "user");
    const oidc = ctx.values.oidc === true;
    if (!name && !oidc) throw new UsageError("missing --user (or --oidc for people of an OIDC issuer)");
    if (name && oidc) throw new UsageError("--user and --oidc exclude each other");
    if (!oidc)
      for (const k of ["issuer", "groups", "exec-command", "extra-scope"])
        if (ctx.values[k] !== undefined) throw new UsageError(`--${k} goes with --oidc`);
    if (oidc && ctx.values.ttl !== undefined)
      throw new UsageError("--ttl goes with --user (an OIDC token's life is the issuer's)");
    for (const k of ["groups", "exec-command", "extra-scope", "issuer"])
      if (ctx.values[k] !== undefined && String(ctx.values[k]).trim() === "")
        throw new UsageError(`--${k} needs a value`);
    if (ctx.positionals.length > 0) throw new UsageError(`unexpected argument "${ctx.positionals[0]}"`);
    const format = documentFormat(ctx.values, ["yaml", "json"]);
    const only = stringOpt(ctx.values, "cluster");
    const config = await ctx.config();
    const ttlMs = ttlOption(ctx, config.proxy_service.max_token_ttl);
    const issuerCfg = oidc ? oidcIssuer(config, stringOpt(ctx.values, "issuer")) : undefined;
    const caData = await gatewayCaData(config, stringOpt(ctx.values, "ca-file"));
    const backend = await ctx.backend();
    const user = name ? ((await backend.get("user", name)) as User | undefined) : undefined;
    if (name && !user)
      throw notFound(`user "${name}" not found (add one: kubeport ctl users add ${name} --roles ROLES)`);
    const groups = stringOpt(ctx.values, "groups")
      ?.split(",")
      .map((g) => g.trim())
      .filter(Boolean);
    const who = user ? `user "${name}"` : `groups ${groups?.join(", ")}`;
    const whoRoles = user
      ? user.spec.roles
      : issuerCfg && groups
        ? rolesForGroups(groups, issuerCfg.groups_to_roles)
        : [];
    const identity: Identity | undefined = user
      ? { user: name!, roles: whoRoles, source: "kubeport", issuer: kubeportIssuer(config.proxy_service) }
      : groups
        ? { user: "(oidc)", roles: whoRoles, groups, source: "oidc", issuer: issuerCfg!.issuer_url }
        : undefined;
    const [roles, clusters] = await Promise.all([backend.list("role"), backend.list("kube_cluster")]);
    let reachable = reachableClusters(config, identity, roles as Role[], clusters as KubeCluster[]);
    if (only) {
      reachable = reachable.filter((c) => c.metadata.name === only);
      if (reachable.length === 0) {
        const target = (clusters as KubeCluster[]).find((c) => c.metadata.name === only);
        const served = makeServedFilter(config.kubernetes_service.resources.map((r) => r.labels));
        throw notFound(
          !target
            ? `kube_cluster "${only}" not found (kubeport ctl get kube_cluster lists them)`
            : !served(target)
              ? `cluster "${only}" is not served: its labels match no kubernetes_service.resources selector`
              : `${who} may not reach cluster "${only}" (roles: ${whoRoles.join(", ") || "none"})`,
        );
      }
    }
    if (reachable.length === 0) {
      const served = makeServedFilter(config.kubernetes_service.resources.map((r) => r.labels));
      const servedCount = (clusters as KubeCluster[]).filter(served).length;
      throw notFound(
        servedCount === 0
          ? `the gateway serves none of the ${clusters.length} registered clusters (kubernetes_service.resources selects none)`
          : `${who} may reach none of the ${servedCount} served clusters (roles: ${whoRoles.join(", ") || "none"})`,
      );
    }
    const discovered = issuerCfg ? await discoveredIssuer(issuerCfg) : undefined;
    if (discovered?.note) ctx.err(`note: ${discovered.note}\n`);
    const credential = issuerCfg
      ? {
          // One user entry per issuer, so kubeconfigs of two issuers merge without clashing.
          user: `oidc-${new URL(issuerCfg.issuer_url).host}`,
          exec: oidcExecPlugin(issuerCfg, {
            issuer: discovered!.issuer,
            command: stringOpt(ctx.values, "exec-command"),
            extraScopes: stringOpt(ctx.values, "extra-scope")
              ?.split(",")
              .map((x) => x.trim())
              .filter(Boolean),
          }),
        }
      : {
          user: name!,
          token: await issueUserToken(backend, {
            user: name!,
            ttlMs,
            issuer: kubeportIssuer(config.proxy_service),
          }),
        };
    if (issuerCfg && !groups)
      ctx.err(
        "note: a context for every served cluster: the gateway decides per person from their groups (--groups narrows the file)\n",
      );
    const doc = renderOutput(
      format,
      buildKubeconfig({
        publicAddr: stringOpt(ctx.values, "proxy") ?? config.proxy_service.public_addr,
        caData,
        ...credential,
        clusters: reachable.map((c) => c.metadata.name),
      }),
    );
    const file = stringOpt(ctx.values, "out");
    if (!file) return void ctx.out(doc);
    await writeFile(file, doc, { mode: 0o600 });
    await chmod(file, 0o600); // an existing file keeps its mode on write
    ctx.out(
      `Wrote ${file}: ${reachable.length} context${reachable.length === 1 ? "" : "s"} (${reachable.map((c) => c.metadata.name).join(", ")}), current ${reachable[0]!.metadata.name}.\n`,
    );
  },
};
