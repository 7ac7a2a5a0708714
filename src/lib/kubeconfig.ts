// Kubeconfig documents whose users run `kubeport kube credentials` (client-go's exec plugin), and
// merging them into a file that holds other entries (~/.kube/config) without touching those.

/** The exec plugin kubectl runs for a token: the kubeport binary and its leading arguments. */
export interface SelfCommand {
  command: string;
  /** Arguments before `kube credentials` (e.g. the script path when running from source). */
  args: readonly string[];
}

/** `<gateway host>-<cluster>`: contexts of two gateways (or a gateway and anything else) never clash. */
export const contextName = (proxyHostPort: string, cluster: string): string =>
  `${proxyHostPort.replace(/:\d+$/, "").replace(/^\[|\]$/g, "")}-${cluster}`;

export interface ExecKubeconfigInput {
  /** host:port of the gateway. */
  proxy: string;
  clusters: readonly string[];
  self: SelfCommand;
  /** base64 PEM the gateway's certificate chains to; none = the system's roots. */
  caData?: string;
  insecure?: boolean;
  /** The context to make current (default the first). */
  current?: string;
}

type Named = { name: string; [k: string]: unknown };

/** A kubeconfig with one cluster/user/context per gateway cluster, each user the exec plugin. */
export function execKubeconfig({ proxy, clusters, self, caData, insecure, current }: ExecKubeconfigInput) {
  const entries = clusters.map((cluster) => {
    const name = contextName(proxy, cluster);
    return {
      cluster: {
        name,
        cluster: {
          server: `https://${proxy}/v1/clusters/${encodeURIComponent(cluster)}`,
          ...(caData ? { "certificate-authority-data": caData } : {}),
          ...(insecure ? { "insecure-skip-tls-verify": true } : {}),
        },
      },
      user: {
        name,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1",
            command: self.command,
            args: [...self.args, "kube", "credentials", `--proxy=${proxy}`, `--cluster=${cluster}`],
            // A person may have to sign in again; kubectl hands the plugin the terminal when it has one.
            interactiveMode: "IfAvailable",
            provideClusterInfo: false,
          },
        },
      },
      context: { name, context: { cluster: name, user: name } },
    };
  });
  return {
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    clusters: entries.map((e) => e.cluster),
    users: entries.map((e) => e.user),
    contexts: entries.map((e) => e.context),
    "current-context": current ?? entries[0]?.context.name ?? "",
  };
}

/**
 * `base` with every cluster, user and context of `add` put in (same names replaced, others kept,
 * order kept), and `current-context` from `add` when it names one. Unrelated keys are untouched.
 */
export function mergeKubeconfig(
  base: Record<string, unknown> | undefined,
  add: ReturnType<typeof execKubeconfig>,
  { setCurrent = true }: { setCurrent?: boolean } = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = { apiVersion: "v1", kind: "Config", preferences: {}, ...(base ?? {}) };
  for (const key of ["clusters", "users", "contexts"] as const) {
    const list = Array.isArray(out[key]) ? [...(out[key] as Named[])] : [];
    for (const item of add[key] as Named[]) {
      const at = list.findIndex((x) => x?.name === item.name);
      if (at >= 0) list[at] = item;
      else list.push(item);
    }
    out[key] = list;
  }
  if (setCurrent && add["current-context"]) out["current-context"] = add["current-context"];
  return out;
}

/** Removes the named contexts and their cluster and user entries. */
export function removeFromKubeconfig(
  base: Record<string, unknown>,
  names: ReadonlySet<string>,
): Record<string, unknown> {
  const out = { ...base };
  for (const key of ["clusters", "users", "contexts"] as const)
    if (Array.isArray(out[key])) out[key] = (out[key] as Named[]).filter((x) => !names.has(x?.name));
  if (typeof out["current-context"] === "string" && names.has(out["current-context"]))
    out["current-context"] = "";
  return out;
}
