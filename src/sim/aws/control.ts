// /_sim/ HTTP control: the SimState operations as JSON, for simulators driven from another process.
import { entryJson } from "./access-entries.ts";
import type { SimInternals } from "./state.ts";
import {
  type ClusterStatus,
  FAULT_KINDS,
  type SimAccountSeed,
  type SimCluster,
  type SimClusterSeed,
  type SimFault,
} from "./types.ts";

const STATUSES: ClusterStatus[] = ["CREATING", "ACTIVE", "UPDATING", "DELETING", "FAILED", "PENDING"];

/** JSON view of a simulated cluster (ISO timestamps, access entries with their policies). */
export function clusterView(c: SimCluster) {
  return {
    name: c.name,
    arn: c.arn,
    account: c.account,
    region: c.region,
    status: c.status,
    version: c.version,
    endpoint: c.endpoint,
    caData: c.caData,
    createdAt: c.createdAt.toISOString(),
    tags: c.tags,
    authenticationMode: c.authenticationMode,
    accessEntries: [...c.accessEntries.values()].map((e) => ({
      ...entryJson(e),
      policies: [...e.policies.keys()],
    })),
  };
}

const bad = (message: string, status = 400) => Response.json({ error: message }, { status });

async function readJson(req: Request): Promise<Record<string, unknown>> {
  const text = await req.text();
  if (!text) return {};
  const v = JSON.parse(text);
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("body must be a JSON object");
  return v as Record<string, unknown>;
}

/**
 * Routes: GET /_sim/health; GET|POST /_sim/clusters; GET|PATCH|DELETE /_sim/clusters/ACCOUNT/REGION/NAME
 * (PATCH body `{tags?, removeTags?, status?}`); GET|POST|DELETE /_sim/faults, DELETE /_sim/faults/ID;
 * GET|DELETE /_sim/calls; GET /_sim/access-entry?clusterArn=&principalArn=; PUT /_sim/settings `{latencyMs?, rateLimit?}`;
 * POST /_sim/accounts (an account seed); DELETE /_sim/sessions[?roleArn=] (expires AssumeRole sessions).
 */
export async function handleControl(state: SimInternals, req: Request, url: URL): Promise<Response> {
  const parts = url.pathname.split("/").slice(2).map(decodeURIComponent);
  const m = req.method;
  try {
    const [head, ...rest] = parts;
    if (head === "health" && m === "GET") return Response.json({ ok: true });
    if (head === "clusters" && rest.length === 0) {
      if (m === "GET") return Response.json({ clusters: state.listClusters().map(clusterView) });
      if (m === "POST")
        return Response.json(
          clusterView(await state.addCluster((await readJson(req)) as unknown as SimClusterSeed)),
          { status: 201 },
        );
    }
    if (head === "clusters" && rest.length === 3) {
      const [account, region, name] = rest as [string, string, string];
      const c = state.getCluster(account, region, name);
      if (!c) return bad(`no cluster ${account}/${region}/${name}`, 404);
      if (m === "GET") return Response.json(clusterView(c));
      if (m === "DELETE") {
        state.deleteCluster(account, region, name);
        return new Response(null, { status: 204 });
      }
      if (m === "PATCH") {
        const b = await readJson(req);
        if (b.status !== undefined && !STATUSES.includes(b.status as ClusterStatus))
          return bad(`status must be one of ${STATUSES.join(", ")}`);
        if (b.tags !== undefined) state.tagCluster(account, region, name, b.tags as Record<string, string>);
        if (Array.isArray(b.removeTags)) state.untagCluster(account, region, name, b.removeTags.map(String));
        if (b.status !== undefined) state.setStatus(account, region, name, b.status as ClusterStatus);
        return Response.json(clusterView(c));
      }
    }
    if (head === "faults") {
      if (rest.length === 0 && m === "GET") return Response.json({ faults: state.faults.list() });
      if (rest.length === 0 && m === "POST") {
        const f = (await readJson(req)) as unknown as SimFault;
        if (!FAULT_KINDS.includes(f.kind)) return bad(`kind must be one of ${FAULT_KINDS.join(", ")}`);
        if (f.count !== undefined && !(Number.isInteger(f.count) && f.count > 0))
          return bad("count must be a positive integer");
        return Response.json({ id: state.injectFault(f) }, { status: 201 });
      }
      if (rest.length === 0 && m === "DELETE") {
        state.clearFaults();
        return new Response(null, { status: 204 });
      }
      if (rest.length === 1 && m === "DELETE") {
        state.removeFault(rest[0] as string);
        return new Response(null, { status: 204 });
      }
    }
    if (head === "accounts" && rest.length === 0 && m === "POST") {
      state.addAccount((await readJson(req)) as unknown as SimAccountSeed);
      return new Response(null, { status: 201 });
    }
    if (head === "sessions" && rest.length === 0 && m === "DELETE") {
      const role = url.searchParams.get("roleArn") ?? undefined;
      return Response.json({ expired: state.expireSessions(role) });
    }
    if (head === "calls" && rest.length === 0) {
      if (m === "GET") return Response.json({ calls: state.calls(), counts: state.callCounts() });
      if (m === "DELETE") {
        state.resetCalls();
        return new Response(null, { status: 204 });
      }
    }
    if (head === "access-entry" && m === "GET") {
      const v = state.accessEntryFor(
        url.searchParams.get("clusterArn") ?? "",
        url.searchParams.get("principalArn") ?? "",
      );
      return v ? Response.json(v) : bad("no access entry", 404);
    }
    if (head === "settings" && m === "PUT") {
      const b = await readJson(req);
      if (typeof b.latencyMs === "number") state.setLatency(b.latencyMs);
      if (b.rateLimit !== undefined)
        state.setRateLimit(b.rateLimit as { rps: number; burst: number } | false);
      return Response.json({ ok: true });
    }
    return bad(`no control route ${m} ${url.pathname}`, 404);
  } catch (e) {
    return bad(e instanceof Error ? e.message : String(e));
  }
}
