// `kubeport configure`: a commented starter config that loadConfig accepts as written.

export interface TemplateOptions {
  discoveryGroup?: string;
  /** EKS tags to match (and the kube_cluster labels the Kubernetes service serves). */
  tags?: Record<string, string>;
  regions?: string[];
  dataDir?: string;
  /** redis://… — when set, storage is Redis (HA); otherwise embedded SQLite in data_dir. */
  storageUrl?: string;
  /** join_params.token_name: a token or a file holding one. */
  token?: string;
  /** proxy_service.listen_addr; default 0.0.0.0:3080. */
  listenAddr?: string;
}

const q = (s: string) => JSON.stringify(s);

/** Renders the config text. Values are JSON-quoted, which YAML reads as double-quoted scalars. */
export function renderConfigTemplate(opts: TemplateOptions = {}): string {
  const tags = opts.tags && Object.keys(opts.tags).length > 0 ? opts.tags : { "*": "*" };
  const regions = opts.regions && opts.regions.length > 0 ? opts.regions : ["*"];
  const group = opts.discoveryGroup ?? "aws-prod";
  const tagLines = (indent: string) => Object.entries(tags).map(([k, val]) => `${indent}${q(k)}: ${q(val)}`);
  const storage = opts.storageUrl
    ? [
        "  storage:",
        "    # Redis makes the registry shared: run several kubeport instances for HA.",
        '    type: "redis"',
        `    url: ${q(opts.storageUrl)}`,
      ]
    : [
        "  storage:",
        "    # Embedded SQLite in data_dir. For HA use type: redis with url, sentinels + name, or cluster_nodes.",
        '    type: "sqlite"',
      ];
  const lines = [
    "# kubeport configuration (same layout as Teleport's teleport.yaml where it can be).",
    "# Booleans accept yes/no/on/off/true/false; durations look like 30s, 5m, 1h.",
    "version: v1",
    "kubeport:",
    "  # Where kubeport keeps its state (instance id, SQLite registry, generated certificates).",
    `  data_dir: ${q(opts.dataDir ?? "/var/lib/kubeport")}`,
    ...storage,
    "  log:",
    "    severity: INFO # DEBUG, INFO, WARN or ERROR",
    "    format: text # text or json",
    "  # /metrics, /healthz and /readyz over HTTP for this process (not on the gateway's port):",
    '  # diag_addr: "127.0.0.1:3000"',
    ...(opts.token
      ? [
          "  # Join token from `kubeport ctl tokens add --type=discovery,kube` (the token, or a file holding it).",
          "  join_params:",
          "    method: token",
          `    token_name: ${q(opts.token)}`,
        ]
      : [
          "  # Join with a token from `kubeport ctl tokens add --type=discovery,kube`:",
          "  # join_params:",
          "  #   method: token",
          '  #   token_name: "/var/lib/kubeport/token"',
        ]),
    "",
    "# The gateway kubectl talks to (HTTPS + WebSocket).",
    "proxy_service:",
    '  enabled: "yes"',
    `  listen_addr: ${q(opts.listenAddr ?? "0.0.0.0:3080")}`,
    "  # Address written into kubeconfigs and token issuers; defaults to listen_addr with localhost for 0.0.0.0.",
    "  # A host without a port (kubeport.example.com) takes the port of listen_addr.",
    '  # public_addr: "kubeport.example.com:3080"',
    "  # What one client may cost the gateway (the defaults; README, Security):",
    "  # limits:",
    "  #   ws_max_message_bytes: 16MiB",
    "  #   ws_max_buffered_bytes_per_session: 4MiB",
    "  #   ws_max_buffered_bytes_total: 256MiB",
    "  #   unauthenticated_rate: { average: 10, burst: 100, period: 1s }   # per client address",
    "  #   user_rate: { average: 100, burst: 1000, period: 1s }",
    "  #   max_kubernetes_connections: 100                                  # open streams per user",
    "  #   filtered_list_bytes_total: 128MiB    # lists kubernetes_resources filters, over the process",
    "  #   max_connections_per_address: 512     # kept-alive connections per client address",
    "",
    "# Polls AWS EKS and records matching clusters as kube_cluster resources.",
    "discovery_service:",
    '  enabled: "yes"',
    "  # Services watching the same clusters share a group; different clusters, different groups.",
    `  discovery_group: ${q(group)}`,
    '  poll_interval: "5m"',
    "  aws:",
    '    - types: ["eks"]',
    `      regions: [${regions.map(q).join(", ")}]`,
    "      tags:",
    ...tagLines("        "),
    "      # Create an EKS access entry for kubeport on each discovered cluster.",
    '      setup_access: "yes"',
    "      # least_privilege: the entry only maps to kubernetes_groups, bound in the cluster to a",
    "      # ClusterRole that may only impersonate (set up through a short-lived admin association).",
    "      # access_policy instead associates access_policy_arn (cluster admin) with the entry.",
    '      access_mode: "least_privilege"',
    "      # adopt: yes                        # manage an existing entry kubeport did not create",
    "      # keep_access_entries: yes          # keep entries of clusters that left the matcher",
    "",
    "# Serves the kube_cluster resources whose labels match.",
    "kubernetes_service:",
    '  enabled: "yes"',
    "  resources:",
    "    - labels:",
    ...tagLines("        "),
    "",
  ];
  return lines.join("\n");
}
