// Red team (issue 10): the watch verb read from the query as the API server reads it. The gateway
// decides list vs watch from the raw query, but a percent-encoded parameter name (`w%61tch=1`) is
// decoded by the API server (Go's url.ParseQuery decodes names) into `watch=1`: a role that grants
// list and not watch then streams a watch.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Rig, resourceRole, startRig, user } from "./harness.ts";

let rig: Rig;
let token: string;
const base = "/v1/clusters/c/api/v1/namespaces/default/pods";

beforeAll(async () => {
  rig = await startRig([
    // Every pod, but only get and list: no watch.
    resourceRole("no-watch", [{ kind: "pods", namespace: "*", name: "*", verbs: ["get", "list"] }]),
    user("lena", ["no-watch"]),
    resourceRole("watch-only", [{ kind: "pods", namespace: "*", name: "*", verbs: ["watch"] }]),
    user("walt", ["watch-only"]),
  ]);
  token = await rig.token("lena");
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

test("control: ?watch=1 is refused (403) and nothing reaches upstream", async () => {
  const hits = rig.mark();
  const res = await rig.gw.fetch(`${base}?watch=1`, { token });
  expect(res.status).toBe(403);
  await res.text();
  expect(hits()).toEqual([]);
});

test("?w%61tch=1 (the parameter name percent-encoded) does not open a watch the role does not grant", async () => {
  const hits = rig.mark();
  const ac = new AbortController();
  const res = await rig.gw.fetch(`${base}?w%61tch=1`, { token, signal: ac.signal });
  const status = res.status;
  ac.abort();
  await res.body?.cancel().catch(() => {});
  // What reached upstream, as the API server reads it: no request that it serves as a watch.
  const watches = hits().filter((h) => {
    const w = h.query.get("watch");
    return w !== null && w !== "0" && w.toLowerCase() !== "false";
  });
  expect({ status, upstreamWatches: watches.map((h) => h.target) }).toEqual({
    status: 403,
    upstreamWatches: [],
  });
});

// The other way round: the gateway reads a watch where the API server (Go's url.ParseQuery drops a
// pair holding ";" or bad percent-encoding) serves a list — a role granting watch, not list, lists.
describe("a watch-only role", () => {
  let wtoken: string;
  beforeAll(async () => {
    wtoken = await rig.token("walt");
  });
  test.each(["watch=1;", "watch=%zz", "watch=1;&x=1"])(
    "?%s (a list for the API server) does not list",
    async (q) => {
      const hits = rig.mark();
      const ac = new AbortController();
      const res = await rig.gw.fetch(`${base}?${q}`, { token: wtoken, signal: ac.signal });
      const status = res.status;
      ac.abort();
      await res.body?.cancel().catch(() => {});
      const lists = hits().filter((h) => {
        const w = h.query.get("watch");
        return h.method === "GET" && (w === null || w === "0" || w.toLowerCase() === "false");
      });
      expect({ status, upstreamLists: lists.map((h) => h.target) }).toEqual({
        status: 403,
        upstreamLists: [],
      });
    },
  );
});
