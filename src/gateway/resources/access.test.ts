// Teleport's own vectors (shared/reference/teleport-kube-access-features.md §1.10) against the decision module.
import { describe, expect, test } from "bun:test";
import type { KubeResourceRule } from "../../registry/index.ts";
import {
  checkCollection,
  checkObject,
  checkWideQuestion,
  EVERY,
  resourceAccess,
  type WideQuestion,
} from "./access.ts";
import { compileRule, FULL_WILDCARD } from "./rules.ts";

const access = (allow: KubeResourceRule[], deny: KubeResourceRule[] = []) =>
  resourceAccess(
    allow.map((r, index) => compileRule(r, { role: "r", side: "allow", index })),
    deny.map((r, index) => compileRule(r, { role: "r", side: "deny", index })),
  );

const PODS = ["default/nginx-1", "default/nginx-2", "default/test", "dev/nginx-1", "dev/nginx-2"];
const CLUSTER_ROLES = ["cr-nginx-1", "cr-nginx-2", "cr-test"];

/** The items of a list the rules let through, or "refused" when the list is refused up front. */
function list(a: ReturnType<typeof access>, kind: string, namespace = "", verb = "list", apiGroup = "") {
  const d = checkCollection(a, { verb, kind, apiGroup, namespace });
  if (d.refuse) return "refused";
  const items =
    kind === "pods" ? PODS.filter((p) => namespace === "" || p.startsWith(`${namespace}/`)) : CLUSTER_ROLES;
  return items.filter((item) => {
    const [ns, name] = item.includes("/") ? (item.split("/") as [string, string]) : ["", item];
    return d.allows(ns, name);
  });
}
const get = (
  a: ReturnType<typeof access>,
  kind: string,
  ns: string,
  name: string,
  verb = "get",
  apiGroup = "",
) => checkObject(a, { verb, kind, apiGroup, namespace: ns, name }).ok;

const pods = (namespace: string, name: string, verbs = ["*"]) => ({ kind: "pods", namespace, name, verbs });

describe("Teleport list vectors (resource_rbac_test.go)", () => {
  test("1: pods */* → all 5", () => expect(list(access([pods("*", "*")]), "pods")).toEqual(PODS));
  test("2: pods default/* → the 3 in default", () =>
    expect(list(access([pods("default", "*")]), "pods")).toEqual(PODS.slice(0, 3)));
  test("3: pods default/nginx-* → nginx-1, nginx-2; GET default/test refused", () => {
    const a = access([pods("default", "nginx-*")]);
    expect(list(a, "pods", "default")).toEqual(["default/nginx-1", "default/nginx-2"]);
    expect(get(a, "pods", "default", "test")).toBe(false);
    expect(get(a, "pods", "default", "nginx-1")).toBe(true);
  });
  test("4: pods */* with deny default/* → the dev pods; GET default/test refused", () => {
    const a = access([pods("*", "*")], [pods("default", "*")]);
    expect(list(a, "pods")).toEqual(["dev/nginx-1", "dev/nginx-2"]);
    expect(get(a, "pods", "default", "test")).toBe(false);
    // A deny covering the whole requested namespace refuses the list up front.
    expect(list(a, "pods", "default")).toBe("refused");
  });
  test("5: pods default/* verbs [get] → list refused up front, GET works", () => {
    const a = access([pods("default", "*", ["get"])]);
    expect(list(a, "pods", "default")).toBe("refused");
    expect(get(a, "pods", "default", "test")).toBe(true);
  });
  test("7: clusterroles cr-nginx-* → two of three; GET cr-test refused", () => {
    const a = access([{ kind: "clusterroles", name: "cr-nginx-*", verbs: ["*"] }]);
    expect(list(a, "clusterroles", "", "list", "rbac.authorization.k8s.io")).toEqual([
      "cr-nginx-1",
      "cr-nginx-2",
    ]);
    expect(get(a, "clusterroles", "", "cr-test", "get", "rbac.authorization.k8s.io")).toBe(false);
  });
  test("8: kind * in dev + the namespace dev → only dev/* custom resources", () => {
    const a = access([
      { kind: "*", api_group: "*", namespace: "dev", name: "*", verbs: ["*"] },
      { kind: "namespaces", name: "dev", verbs: ["*"] },
    ]);
    const d = checkCollection(a, {
      verb: "list",
      kind: "teleportroles",
      apiGroup: "resources.teleport.dev",
      namespace: "",
    });
    if (d.refuse) throw new Error("refused");
    expect([d.allows("dev", "a"), d.allows("default", "b")]).toEqual([true, false]);
    expect(get(a, "namespaces", "", "dev")).toBe(true);
    expect(get(a, "namespaces", "", "default")).toBe(false);
  });
  test("9: deletecollection of teleportroles default/*-test: only that item, never the whole collection", () => {
    const a = access([
      {
        kind: "teleportroles",
        api_group: "resources.teleport.dev",
        namespace: "default",
        name: "*-test",
        verbs: ["*"],
      },
    ]);
    const d = checkCollection(a, {
      verb: "deletecollection",
      kind: "teleportroles",
      apiGroup: "resources.teleport.dev",
      namespace: "default",
    });
    if (d.refuse) throw new Error("refused");
    expect(d.all).toBe(false);
    expect([d.allows("default", "telerole-test"), d.allows("default", "telerole-1")]).toEqual([true, false]);
  });
});

describe("Teleport single-check vectors (replace_test.go, v7 kinds in plural)", () => {
  test("verbs", () => {
    expect(get(access([pods("*", "*", ["create", "get"])]), "pods", "default", "p")).toBe(true);
    expect(get(access([pods("*", "*", ["get"])]), "pods", "default", "p", "patch")).toBe(false);
  });
  test("namespace glob and name regex", () => {
    const a = access([pods("defa*", "^podname-[0-9]+$")]);
    expect(get(a, "pods", "default-5", "podname-5")).toBe(true);
    expect(get(access([pods("default", "^pod-[0-9]+$")]), "pods", "default", "pod-name")).toBe(false);
  });
  test("an invalid regex does not compile (the role holding it is broken: it denies)", () => {
    expect(() =>
      compileRule(pods("default", "^podname-[0-+$"), { role: "r", side: "allow", index: 0 }),
    ).toThrow();
  });
  test("namespace visibility: get namespace default from a pods rule in default; update denied", () => {
    const a = access([pods("default", "*")]);
    expect(get(a, "namespaces", "", "default")).toBe(true);
    expect(get(a, "namespaces", "", "default", "update")).toBe(false);
    expect(get(a, "namespaces", "", "dev")).toBe(false);
  });
  test("a namespaces rule reaches objects inside it (custom resources too)", () => {
    const a = access([{ kind: "namespaces", name: "default", verbs: ["get"] }]);
    expect(get(a, "pods", "default", "podname")).toBe(true);
    expect(get(a, "pods", "default", "podname", "update")).toBe(false);
    expect(get(a, "crontabs", "default", "c", "get", "stable.example.com")).toBe(true);
  });
  test("kind * verbs [patch] vs get of a clusterrole → deny", () => {
    const a = access([{ kind: "*", api_group: "*", namespace: "*", name: "*", verbs: ["patch"] }]);
    expect(get(a, "clusterroles", "", "clusterrole", "get", "rbac.authorization.k8s.io")).toBe(false);
  });
  test('a namespaced rule never matches cluster-scoped objects; namespace "" only them', () => {
    expect(
      get(
        access([{ kind: "*", api_group: "*", namespace: "dev", name: "*", verbs: ["*"] }]),
        "nodes",
        "",
        "n1",
      ),
    ).toBe(false);
    const clusterOnly = access([{ kind: "*", api_group: "*", namespace: "", name: "*", verbs: ["*"] }]);
    expect(get(clusterOnly, "nodes", "", "n1")).toBe(true);
    expect(get(clusterOnly, "pods", "dev", "p")).toBe(false);
  });
  test("api_group defaults to the kind's own group", () => {
    const a = access([{ kind: "deployments", namespace: "*", name: "*", verbs: ["get"] }]);
    expect(get(a, "deployments", "x", "d", "get", "apps")).toBe(true);
    expect(get(a, "deployments", "x", "d", "get", "example.com")).toBe(false);
  });
});

describe("watch vectors (TestWatcherResponseWriter): which events pass", () => {
  const events: [string, string][] = [
    ["dev", "podAdded"],
    ["default", "podAdded"],
    ["default", "otherPod"],
  ];
  const passing = (a: ReturnType<typeof access>) => {
    const d = checkCollection(a, { verb: "watch", kind: "pods", apiGroup: "", namespace: "" });
    return d.refuse ? "refused" : events.filter(([ns, n]) => d.allows(ns, n)).length;
  };
  test("ns * → all 3", () => expect(passing(access([pods("*", "*")]))).toBe(3));
  test("ns default → last 2", () => expect(passing(access([pods("default", "*")]))).toBe(2));
  test("plus deny default/otherPod → only the middle one", () =>
    expect(passing(access([pods("default", "*")], [pods("default", "otherPod")]))).toBe(1));
  test("name rand* → none (the stream is still served: ERROR events pass)", () =>
    expect(passing(access([pods("*", "rand*")]))).toBe(0));
});

test("fast path: only the exact full wildcard with no deny is unrestricted", () => {
  expect(access([FULL_WILDCARD]).unrestricted).toBe(true);
  expect(access([FULL_WILDCARD], [pods("kube-system", "*")]).unrestricted).toBe(false);
  expect(access([{ ...FULL_WILDCARD, verbs: ["get"] }]).unrestricted).toBe(false);
  expect(access([pods("*", "*")]).unrestricted).toBe(false);
});

describe("a review that asks about everything in some dimension (checkWideQuestion)", () => {
  const q = (over: Partial<WideQuestion>): WideQuestion => ({
    verbs: ["get"],
    kind: "pods",
    apiGroup: "",
    namespace: "default",
    name: EVERY,
    ...over,
  });
  const allButSecrets = access(
    [{ kind: "*", namespace: "default", name: "*", verbs: ["*"] }],
    [{ kind: "secrets", namespace: "default", name: "*", verbs: ["*"] }],
  );
  test("kind * meets a deny rule on one kind: refused by it", () => {
    const d = checkWideQuestion(allButSecrets, q({ kind: EVERY, apiGroup: EVERY }));
    expect(d.ok).toBe(false);
    expect(!d.ok && d.deniedBy?.source.kind).toBe("secrets");
  });
  test("verb * meets a deny rule on one verb of one object", () => {
    const a = access(
      [{ kind: "*", namespace: "default", name: "*", verbs: ["*"] }],
      [pods("default", "web-0", ["delete"])],
    );
    expect(checkWideQuestion(a, q({ verbs: EVERY, name: "web-0" })).ok).toBe(false);
    expect(checkWideQuestion(a, q({ verbs: EVERY, name: "web-1" })).ok).toBe(true);
  });
  test("allowed only when ONE allow rule has the wildcard where the question has it", () => {
    const split = access([pods("default", "*", ["get", "list"]), pods("default", "*", ["delete"])]);
    expect(checkWideQuestion(split, q({ verbs: EVERY })).ok).toBe(false);
    expect(checkWideQuestion(split, q({ verbs: ["get", "list"] })).ok).toBe(true);
    const webOnly = access([pods("default", "web-*")]);
    expect(checkWideQuestion(webOnly, q({ name: EVERY })).ok).toBe(false);
    expect(checkWideQuestion(webOnly, q({ kind: EVERY, name: "web-0" })).ok).toBe(false);
    expect(checkWideQuestion(access([pods("*", "*")]), q({ namespace: EVERY })).ok).toBe(true);
    expect(checkWideQuestion(access([pods("default", "*")]), q({ namespace: EVERY })).ok).toBe(false);
  });
  test("a rule on the namespace object covers everything inside it, and denies it", () => {
    const ns = { kind: "namespaces", name: "default", verbs: ["*"] };
    expect(checkWideQuestion(access([ns]), q({ kind: EVERY, apiGroup: EVERY, verbs: EVERY })).ok).toBe(true);
    expect(checkWideQuestion(access([FULL_WILDCARD], [ns]), q({ kind: EVERY, namespace: EVERY })).ok).toBe(
      false,
    );
  });
});
