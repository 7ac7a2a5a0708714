import { expect, test } from "bun:test";
import { impersonate, responseHeaders, stripClientHeaders } from "./headers.ts";

test("drops client credentials, every Impersonate-* and hop-by-hop header", () => {
  const h = new Headers([
    ["Authorization", "Bearer client"],
    ["Impersonate-User", "system:admin"],
    ["Impersonate-Uid", "0"],
    ["Impersonate-Group", "system:masters"],
    ["Impersonate-Extra-Scopes", "all"],
    ["Connection", "keep-alive, X-Secret"],
    ["X-Secret", "1"],
    ["Keep-Alive", "timeout=5"],
    ["Proxy-Authorization", "Basic x"],
    ["TE", "trailers"],
    ["Trailer", "x"],
    ["Transfer-Encoding", "chunked"],
    ["Upgrade", "h2c"],
    ["X-Forwarded-For", "6.6.6.6"],
    ["Accept", "application/json"],
    ["Kubectl-Command", "kubectl get"],
  ]);
  expect([...stripClientHeaders(h).keys()].sort()).toEqual(["accept", "kubectl-command"]);
});

test("sets our credentials and impersonation; groups come back separately, minus system:authenticated", () => {
  const h = new Headers();
  const groups = impersonate(h, "Bearer k8s-aws-v1.x", {
    user: "alice",
    groups: ["developers", "ops", "system:authenticated"],
    extra: { "Kubeport-User": ["alice"], "kubeport-roles": ["dev", "a b"] },
  });
  expect(groups).toEqual(["developers", "ops"]);
  expect(h.get("authorization")).toBe("Bearer k8s-aws-v1.x");
  expect(h.get("impersonate-user")).toBe("alice");
  expect(h.get("impersonate-group")).toBeNull();
  expect(h.get("impersonate-extra-kubeport-user")).toBe("alice");
  expect(h.get("impersonate-extra-kubeport-roles")).toBe("dev,a%20b");
});

test("response headers lose hop-by-hop ones", () => {
  const out = responseHeaders(
    new Headers({ connection: "close", "content-type": "application/json", "transfer-encoding": "chunked" }),
  );
  expect([...out.keys()]).toEqual(["content-type"]);
});
