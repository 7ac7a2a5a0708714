// YAML seed files for the simulator: accounts, clusters and bulk-generated clusters → AwsSimOptions.
import { parse } from "yaml";
import { EKS_REGIONS } from "./regions.ts";
import type { AwsSimOptions, SimClusterSeed } from "./types.ts";

/**
 * Seed file shape (all keys optional):
 * ```yaml
 * latencyMs: 20
 * rateLimit: { rps: 50, burst: 100 }
 * defaultRegion: us-east-1
 * organization: { managementAccount: "111111111111" }   # or false; default: the first account manages all
 * accounts: [{ id: "111111111111", name?, status?, principals: [{arn, accessKeyId, secretAccessKey, deny?, allow?}], roles: [{arn, externalId?, trusted?, deny?}] }]
 * clusters: [{ name, region, account?, status?, tags?, version?, authenticationMode?, accessEntries?, creatorAdmin? }]
 * generate: [{ count: 100, regions: ["*"] | [..], account?, namePrefix?: "c", tags?: {…}, status? }]
 * ```
 * `generate` spreads `count` clusters round-robin over the regions, named PREFIX-00001….
 */
export function parseSeed(text: string, source = "seed"): AwsSimOptions {
  const doc = (parse(text) ?? {}) as Record<string, unknown>;
  if (typeof doc !== "object" || Array.isArray(doc)) throw new Error(`${source}: the seed must be a mapping`);
  const known = [
    "latencyMs",
    "rateLimit",
    "defaultRegion",
    "accounts",
    "clusters",
    "generate",
    "port",
    "organization",
  ];
  for (const k of Object.keys(doc))
    if (!known.includes(k))
      throw new Error(`${source}: unknown key ${k} (expected one of ${known.join(", ")})`);
  const clusters: SimClusterSeed[] = [];
  for (const [i, c] of ((doc.clusters ?? []) as SimClusterSeed[]).entries()) {
    if (!c || typeof c.name !== "string" || typeof c.region !== "string")
      throw new Error(`${source}: clusters[${i}] needs name and region`);
    clusters.push({ ...c, ...(c.account !== undefined ? { account: String(c.account) } : {}) });
  }
  for (const [i, g] of ((doc.generate ?? []) as Record<string, unknown>[]).entries()) {
    const count = Number(g.count);
    if (!Number.isInteger(count) || count < 0)
      throw new Error(`${source}: generate[${i}].count must be a whole number`);
    const regionsIn = (g.regions ?? ["us-east-1"]) as string[];
    const regions = regionsIn.includes("*") ? [...EKS_REGIONS] : regionsIn;
    const prefix = String(g.namePrefix ?? "cluster");
    for (let n = 0; n < count; n++) {
      clusters.push({
        name: `${prefix}-${String(n + 1).padStart(5, "0")}`,
        region: regions[n % regions.length] as string,
        ...(g.account !== undefined ? { account: String(g.account) } : {}),
        ...(g.tags ? { tags: { ...(g.tags as Record<string, string>) } } : {}),
        ...(g.status ? { status: g.status as SimClusterSeed["status"] } : {}),
        ...(g.version ? { version: String(g.version) } : {}),
      });
    }
  }
  const accounts = ((doc.accounts ?? []) as Record<string, unknown>[]).map((a, i) => {
    if (a.id === undefined) throw new Error(`${source}: accounts[${i}] needs an id`);
    return { ...a, id: String(a.id) } as NonNullable<AwsSimOptions["accounts"]>[number];
  });
  return {
    ...(accounts.length ? { accounts } : {}),
    ...(clusters.length ? { clusters } : {}),
    ...(doc.latencyMs !== undefined ? { latencyMs: Number(doc.latencyMs) } : {}),
    ...(doc.rateLimit !== undefined ? { rateLimit: doc.rateLimit as AwsSimOptions["rateLimit"] } : {}),
    ...(doc.defaultRegion !== undefined ? { defaultRegion: String(doc.defaultRegion) } : {}),
    ...(doc.port !== undefined ? { port: Number(doc.port) } : {}),
    ...(doc.organization !== undefined
      ? { organization: doc.organization as AwsSimOptions["organization"] }
      : {}),
  };
}

/** Reads a YAML seed file into simulator options. */
export async function loadSeedFile(path: string): Promise<AwsSimOptions> {
  return parseSeed(await Bun.file(path).text(), path);
}
