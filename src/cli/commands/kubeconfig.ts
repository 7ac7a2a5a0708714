// `kubeport kubeconfig --user NAME`: a kubeconfig with one context per cluster the user may reach.
import { existsSync } from "node:fs";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import type { Config } from "../../config/index.ts";
import {
  createStaticAuthorizer,
  type Identity,
  issueUserToken,
  kubeportIssuer,
  makeServedFilter,
} from "../../gateway/index.ts";
import { badParameter, notFound } from "../../lib/errors.ts";
import type { KubeCluster, Role, User } from "../../registry/index.ts";
import { stringOpt, UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { TTL_OPTION, ttlOption } from "./auth.ts";

export interface KubeconfigInput {
  /** host:port of the gateway as kubectl reaches it. */
  publicAddr: string;
  /** base64 of the PEM bundle kubectl trusts for the gateway. */
  caData: string;
  user: string;
  token: string;
  /** Cluster names, in the order the contexts are written; the first is the current context. */
  clusters: readonly string[];
}

/** The kubeconfig document: cluster/context = kubeport cluster name, user = `kubeport-<user>`. */
export function buildKubeconfig({
  publicAddr,
  caData,
  user,
  token,
  clusters,
}: KubeconfigInput): Record<string, unknown> {
  const userName = `kubeport-${user}`;
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
    users: [{ name: userName, user: { token } }],
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
  const pem = await readFile(path, "utf8");
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw badParameter(`${path} holds no PEM certificate`);
  return Buffer.from(pem).toString("base64");
}

/** The clusters `user` may reach through this gateway, sorted by name. */
export function reachableClusters(
  config: Config,
  user: User,
  roles: readonly Role[],
  clusters: readonly KubeCluster[],
): KubeCluster[] {
  const served = makeServedFilter(config.kubernetes_service.resources.map((r) => r.labels));
  const identity: Identity = {
    user: user.metadata.name,
    roles: user.spec.roles,
    source: "kubeport",
    issuer: kubeportIssuer(config.proxy_service),
  };
  return createStaticAuthorizer(roles)
    .visibleClusters(identity, clusters.filter(served))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
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
    user: { type: "string", valueName: "NAME", description: "the kubeport user" },
    cluster: { type: "string", valueName: "NAME", description: "only this cluster" },
    ttl: TTL_OPTION,
    out: {
      type: "string",
      short: "o",
      valueName: "FILE",
      description: "write here (mode 0600) instead of stdout",
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
  help: "Example:\n  kubeport kubeconfig --user alice -o alice.kubeconfig\n  KUBECONFIG=alice.kubeconfig kubectl get pods",
  async run(ctx) {
    const name = stringOpt(ctx.values, "user");
    if (!name) throw new UsageError("missing --user");
    if (ctx.positionals.length > 0) throw new UsageError(`unexpected argument "${ctx.positionals[0]}"`);
    const ttlMs = ttlOption(ctx);
    const only = stringOpt(ctx.values, "cluster");
    const config = await ctx.config();
    const caData = await gatewayCaData(config, stringOpt(ctx.values, "ca-file"));
    const backend = await ctx.backend();
    const user = (await backend.get("user", name)) as User | undefined;
    if (!user)
      throw notFound(`user "${name}" not found (add one: kubeport ctl users add ${name} --roles ROLES)`);
    const [roles, clusters] = await Promise.all([backend.list("role"), backend.list("kube_cluster")]);
    let reachable = reachableClusters(config, user, roles as Role[], clusters as KubeCluster[]);
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
              : `user "${name}" may not reach cluster "${only}" (roles: ${user.spec.roles.join(", ") || "none"})`,
        );
      }
    }
    if (reachable.length === 0) {
      const served = makeServedFilter(config.kubernetes_service.resources.map((r) => r.labels));
      const servedCount = (clusters as KubeCluster[]).filter(served).length;
      throw notFound(
        servedCount === 0
          ? `the gateway serves none of the ${clusters.length} registered clusters (kubernetes_service.resources selects none)`
          : `user "${name}" may reach none of the ${servedCount} served clusters (roles: ${user.spec.roles.join(", ") || "none"})`,
      );
    }
    const token = await issueUserToken(backend, {
      user: name,
      ttlMs,
      issuer: kubeportIssuer(config.proxy_service),
    });
    const doc = stringify(
      buildKubeconfig({
        publicAddr: stringOpt(ctx.values, "proxy") ?? config.proxy_service.public_addr,
        caData,
        user: name,
        token,
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
