// `kubeport ctl get KIND [NAME]`: list resources as a table, YAML or JSON.
import { notFound } from "../../lib/errors.ts";
import { formatProblem } from "../../lib/problems.ts";
import { KINDS, type Resource, resourceProblems } from "../../registry/index.ts";
import { UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { parseKind } from "../kinds.ts";
import { age, formatUserLabels, OUTPUT_OPTIONS, parseOutput, renderListing, renderTable } from "../output.ts";
import { formatInstanceRows, INSTANCE_HEADERS } from "./inventory.ts";
import { renderLocks } from "./lock.ts";
import { formatTokenRows, TOKEN_HEADERS } from "./tokens.ts";

const spec = <T>(r: Resource) => r.spec as T;
const userLabels = (r: Resource, verbose: boolean) => formatUserLabels(r.metadata.labels, verbose);
/** When the thing was made: EKS's creation time for a cluster, else the record's own. */
const createdOf = (r: Resource) =>
  spec<{ aws?: { created_at?: string } }>(r).aws?.created_at ??
  (r.metadata as { created?: string }).created ??
  spec<{ created?: string }>(r).created;

/** Text tables per kind: headers and a row per resource. */
function table(kind: string, items: Resource[], verbose: boolean): string {
  switch (kind) {
    case "kube_cluster":
      return renderTable(
        ["NAME", "LABELS", "REGION", "ACCOUNT", "AGE"],
        items.map((r) => {
          const aws = spec<{ aws?: { region: string; account_id: string } }>(r).aws;
          return [
            r.metadata.name,
            userLabels(r, verbose),
            aws?.region ?? "-",
            aws?.account_id ?? "-",
            age(createdOf(r)),
          ];
        }),
      );
    case "token":
      return renderTable(TOKEN_HEADERS, formatTokenRows(items));
    case "instance":
      return renderTable(INSTANCE_HEADERS, formatInstanceRows(items));
    case "role":
      return renderTable(
        ["NAME", "ALLOW LABELS", "GROUPS", "USERS"],
        items.map((r) => {
          // A role stored before validation was strict (or by hand) that the gateway treats as broken.
          const problem = resourceProblems(r)[0];
          if (problem)
            return [
              r.metadata.name,
              `BROKEN, denies its holders every cluster: ${formatProblem(problem)}`,
              "-",
              "-",
            ];
          const allow = spec<{
            allow: {
              kubernetes_labels?: Record<string, unknown>;
              kubernetes_groups?: string[];
              kubernetes_users?: string[];
            };
          }>(r).allow;
          const labels = Object.entries(allow.kubernetes_labels ?? {}).map(
            ([k, v]) => `${k}=${Array.isArray(v) ? v.join("|") : String(v)}`,
          );
          return [
            r.metadata.name,
            labels.join(",") || "-",
            (allow.kubernetes_groups ?? []).join(",") || "-",
            (allow.kubernetes_users ?? []).join(",") || "-",
          ];
        }),
      );
    case "discovery_config":
      return renderTable(
        ["NAME", "GROUP", "MATCHERS", "REGIONS", "TAGS"],
        items.map((r) => {
          const s = spec<{
            discovery_group: string;
            aws: { regions?: string[]; tags?: Record<string, unknown> }[];
          }>(r);
          const regions = [...new Set(s.aws.flatMap((m) => m.regions ?? ["*"]))];
          const tags = s.aws.map((m) =>
            Object.entries(m.tags ?? { "*": "*" })
              .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("|") : String(v)}`)
              .join(","),
          );
          return [
            r.metadata.name,
            s.discovery_group || "(none)",
            String(s.aws.length),
            regions.join(","),
            tags.join(" ; "),
          ];
        }),
      );
    case "lock":
      return renderLocks(items);
    case "user":
      return renderTable(
        ["NAME", "ROLES", "AGE"],
        items.map((r) => [r.metadata.name, spec<{ roles: string[] }>(r).roles.join(","), age(createdOf(r))]),
      );
    default:
      return renderTable(
        ["NAME", "LABELS", "EXPIRES"],
        items.map((r) => [r.metadata.name, userLabels(r, verbose) || "-", r.metadata.expires ?? "-"]),
      );
  }
}

/** Signing keys carry private JWKs: never printed. */
function redact(r: Resource): Resource {
  if (r.kind !== "signing_key") return r;
  return { ...r, spec: { ...(r.spec as object), private_jwk: "<redacted>" } };
}

export const getCommand: Command = {
  name: "get",
  readsOnly: true,
  summary: "Show resources: kube_cluster, role, user, token, instance, lock, …",
  usage: "KIND[/NAME] [NAME]",
  completions: KINDS,
  options: {
    ...OUTPUT_OPTIONS,
    verbose: { type: "boolean", short: "v", description: "show kubeport.dev/* labels too (as -o wide)" },
  },
  help: `Kinds: ${KINDS.join(", ")}\nExamples:\n  kubeport ctl get kube_cluster\n  kubeport ctl get kube_cluster/prod-eks -o yaml\n  kubeport ctl get role -o name\n  kubeport ctl get lock`,
  async run(ctx) {
    const out = parseOutput(ctx.values);
    const [first, second, ...rest] = ctx.positionals;
    if (!first) throw new UsageError("missing KIND");
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const [kindWord, slashName] = first.split("/", 2) as [string, string | undefined];
    const kind = parseKind(kindWord);
    const name = slashName ?? second;
    const backend = await ctx.backend();
    let items: Resource[];
    if (name) {
      const r = await backend.get(kind, name);
      if (!r) throw notFound(`${kind} "${name}" not found`);
      items = [r];
    } else items = (await backend.list(kind)).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    items = items.map(redact);
    ctx.out(
      renderListing(out, {
        data: name ? items[0] : items,
        documents: true,
        names: () => items.map((r) => `${kind}/${r.metadata.name}`),
        table: () => table(kind, items, ctx.values.verbose === true),
        // Wide: every label, kubeport.dev/* bookkeeping included.
        wide: () => table(kind, items, true),
      }),
    );
  },
};
