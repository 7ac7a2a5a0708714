// `kubeport ctl kube ls`: the clusters this config's gateway serves, with health from a running gateway
// (read with --token's user, or else with a 60 s status token ctl signs from the registry's key).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type ClusterHealth,
  issueStatusToken,
  kubeportIssuer,
  makeServedFilter,
} from "../../gateway/index.ts";
import { egressFetch } from "../../lib/egress/index.ts";
import { describeError } from "../../lib/errors.ts";
import type { KubeCluster } from "../../registry/index.ts";
import { stringOpt } from "../args.ts";
import type { Command } from "../command.ts";
import { age, formatUserLabels, OUTPUT_OPTIONS, parseOutput, renderListing, renderTable } from "../output.ts";

/** Asks a running gateway for per-cluster health; undefined (with the reason) when it cannot. */
async function gatewayHealth(
  url: string,
  token: string,
  ca: string | undefined,
): Promise<{ rows?: ClusterHealth[]; why?: string }> {
  try {
    const res = await egressFetch(`${url.replace(/\/+$/, "")}/v1/status/clusters`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(3000),
      ...(ca ? { tls: { ca } } : {}),
    });
    if (!res.ok) return { why: `gateway answered HTTP ${res.status}` };
    return { rows: (await res.json()) as ClusterHealth[] };
  } catch (err) {
    return { why: `gateway not reachable at ${url}: ${describeError(err)}` };
  }
}

/** Health with the user's token, else with a status token signed now; a failure becomes the note. */
async function readHealth(
  url: string,
  ca: string | undefined,
  userToken: string | undefined,
  statusToken: () => Promise<string | undefined>,
): Promise<{ rows?: ClusterHealth[]; why?: string }> {
  let token = userToken;
  if (!token) {
    try {
      token = await statusToken();
    } catch (err) {
      return { why: `cannot sign a status token to read health: ${describeError(err)}` };
    }
    if (!token)
      return {
        why: "no active signing key in the registry to sign a status token (`ctl auth sign` creates the first); pass --token to read health",
      };
  }
  return gatewayHealth(url, token, ca);
}

const ls: Command = {
  name: "ls",
  readsOnly: true,
  summary: "List the clusters the gateway serves (kubernetes_service.resources labels), with health.",
  options: {
    ...OUTPUT_OPTIONS,
    verbose: { type: "boolean", short: "v", description: "show kubeport.dev/* labels too (as -o wide)" },
    gateway: {
      type: "string",
      valueName: "URL",
      description: "gateway URL (default https://<proxy_service.public_addr>)",
    },
    token: {
      type: "string",
      valueName: "TOKEN",
      description:
        "read health as this user: only clusters its roles reach (default $KUBEPORT_TOKEN; else ctl signs a 60 s status token that sees all)",
    },
  },
  async run(ctx) {
    const out = parseOutput(ctx.values);
    const config = await ctx.config();
    const backend = await ctx.backend();
    const served = makeServedFilter(config.kubernetes_service.resources.map((r) => r.labels));
    const registered = ((await backend.list("kube_cluster")) as KubeCluster[]).sort((a, b) =>
      a.metadata.name.localeCompare(b.metadata.name),
    );
    const clusters = registered.filter(served);
    const unserved = registered.filter((c) => !served(c)).map((c) => c.metadata.name);
    const url = stringOpt(ctx.values, "gateway") ?? `https://${config.proxy_service.public_addr}`;
    const caFile = join(config.kubeport.data_dir, "tls", "ca.pem");
    const ca = existsSync(caFile) ? readFileSync(caFile, "utf8") : undefined;
    // An empty $KUBEPORT_TOKEN (exported but unset) is no token.
    const userToken = stringOpt(ctx.values, "token") || ctx.env.KUBEPORT_TOKEN || undefined;
    const { rows, why } =
      clusters.length > 0
        ? await readHealth(url, ca, userToken, () =>
            issueStatusToken(backend, { issuer: kubeportIssuer(config.proxy_service) }),
          )
        : { rows: [], why: undefined };
    const health = new Map((rows ?? []).map((h) => [h.name, h]));
    if (out !== "table" && out !== "wide") {
      ctx.out(
        renderListing(out, {
          data: clusters.map((c) => ({
            name: c.metadata.name,
            labels: c.metadata.labels ?? {},
            health: health.get(c.metadata.name) ?? null,
          })),
          names: () => clusters.map((c) => `kube_cluster/${c.metadata.name}`),
          table: () => "",
        }),
      );
      return 0;
    }
    // Wide: every label, and the Kubernetes version the health check read.
    const wide = out === "wide";
    const table = clusters.map((c) => {
      const h = health.get(c.metadata.name);
      const status = h ? (h.error && h.status !== "ok" ? `${h.status}: ${h.error}` : h.status) : "-";
      return [
        c.metadata.name,
        formatUserLabels(c.metadata.labels, wide || ctx.values.verbose === true),
        status,
        h?.lastCheck ? `${age(h.lastCheck)} ago` : "-",
        ...(wide ? [h?.version ?? "-"] : []),
      ];
    });
    ctx.out(renderTable(["NAME", "LABELS", "STATUS", "LAST CHECK", ...(wide ? ["VERSION"] : [])], table));
    if (why) ctx.err(`note: ${why}\n`);
    // Teleport's troubleshooting step: in `get kube_cluster` but not here → kubernetes_service.resources.
    if (unserved.length > 0) {
      const selectors =
        config.kubernetes_service.resources
          .map((r) =>
            Object.entries(r.labels)
              .map(([k, v]) => `${k}=${typeof v === "string" ? v : v.join("|")}`)
              .join(","),
          )
          .join(" or ") || "none";
      ctx.err(
        `note: ${unserved.length} registered kube_cluster(s) not served, their labels match no kubernetes_service.resources selector (${selectors}): ${unserved.join(", ")}\n`,
      );
    }
    // The gateway only reports the clusters it serves and, for a user's token, the user may reach.
    const unseen = rows
      ? clusters.filter((c) => !health.has(c.metadata.name)).map((c) => c.metadata.name)
      : [];
    if (unseen.length > 0) {
      ctx.err(
        userToken
          ? `note: no health for ${unseen.join(", ")}: the token's roles do not reach ${unseen.length === 1 ? "it" : "them"}, or the gateway at ${url} does not serve ${unseen.length === 1 ? "it" : "them"}\n`
          : `note: no health for ${unseen.join(", ")}: the gateway at ${url} does not serve ${unseen.length === 1 ? "it" : "them"} (yet)\n`,
      );
    }
    return 0;
  },
};

export const kubeCommand: Command = {
  name: "kube",
  summary: "Kubernetes clusters served by the gateway.",
  subcommands: [ls],
};
