// `kubeport ctl inventory status [--connected]`: the kubeport instances that heartbeat into the registry.
import type { Instance, Resource } from "../../registry/index.ts";
import type { Command } from "../command.ts";
import { age, OUTPUT_OPTIONS, parseOutput, renderListing, renderTable } from "../output.ts";
import { HEARTBEAT_INTERVAL_MS } from "../runtime.ts";

export const INSTANCE_HEADERS = ["ID", "HOSTNAME", "SERVICES", "GROUP", "VERSION", "LAST SEEN"];

export function formatInstanceRows(items: Resource[], now = Date.now()): string[][] {
  return items.map((r) => {
    const s = (r as Instance).spec;
    return [
      r.metadata.name,
      s.hostname,
      s.services.join(",") || "-",
      s.discovery_group || "-",
      s.version,
      `${age(s.last_seen, now)} ago`,
    ];
  });
}

/** True when the instance heartbeat within the last 3 intervals. */
export const isConnected = (i: Instance, now = Date.now()) =>
  now - Date.parse(i.spec.last_seen) <= 3 * HEARTBEAT_INTERVAL_MS;

const status: Command = {
  name: "status",
  readsOnly: true,
  summary: "List kubeport instances and their services.",
  options: {
    connected: {
      type: "boolean",
      description: `only instances heard from within 3 heartbeats (${(3 * HEARTBEAT_INTERVAL_MS) / 1000}s)`,
    },
    ...OUTPUT_OPTIONS,
  },
  async run(ctx) {
    const out = parseOutput(ctx.values);
    const now = Date.now();
    let items = (await (await ctx.backend()).list("instance")) as Instance[];
    if (ctx.values.connected) items = items.filter((i) => isConnected(i, now));
    items.sort(
      (a, b) =>
        a.spec.hostname.localeCompare(b.spec.hostname) || a.metadata.name.localeCompare(b.metadata.name),
    );
    ctx.out(
      renderListing(out, {
        data: items,
        names: () => items.map((i) => `instance/${i.metadata.name}`),
        table: () =>
          items.length === 0
            ? "No instances found.\n"
            : renderTable(INSTANCE_HEADERS, formatInstanceRows(items, now)),
        // Wide: when each was last heard from, as a time.
        wide: () =>
          items.length === 0
            ? "No instances found.\n"
            : renderTable(
                [...INSTANCE_HEADERS, "LAST SEEN AT"],
                formatInstanceRows(items, now).map((row, i) => [...row, items[i]!.spec.last_seen]),
              ),
      }),
    );
  },
};

export const inventoryCommand: Command = {
  name: "inventory",
  summary: "Show the kubeport instances in this cluster.",
  subcommands: [status],
};
