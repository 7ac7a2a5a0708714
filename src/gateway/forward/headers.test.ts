import { expect, test } from "bun:test";
import {
  applyImpersonation,
  fixedHeaders,
  type HeaderRecord,
  headerBytes,
  planImpersonation,
  singleHost,
  stripClientHeaders,
  stripResponseHeaders,
} from "./headers.ts";

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
    ["X-Remote-User", "system:admin"],
    ["X-Remote-Group", "system:masters"],
    ["X-Remote-Uid", "0"],
    ["X-Remote-Extra-Scopes", "all"],
    ["Forwarded", "for=6.6.6.6"],
    ["X-Real-IP", "6.6.6.6"],
    ["True-Client-IP", "6.6.6.6"],
    ["CF-Connecting-IP", "6.6.6.6"],
    ["Impersonate_User", "system:admin"],
    ["X_Remote_Group", "system:masters"],
    ["X_Trace_Id", "t"],
    ["Sec-WebSocket-Protocol", "base64url.bearer.authorization.k8s.io.dG9rZW4"],
    ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="],
    ["Host", "localhost"],
  ]);
  expect(Object.keys(stripClientHeaders(h)).sort()).toEqual(["accept", "kubectl-command"]);
});

test("one Host is the Host; two (joined by Headers) or a malformed one are a bad_parameter", () => {
  expect(singleHost(new Headers({ host: "kp.example.com:3080" }))).toBe("kp.example.com:3080");
  expect(singleHost(new Headers({ host: "[::1]:3080" }))).toBe("[::1]:3080");
  expect(singleHost(new Headers())).toBeUndefined();
  const two = new Headers([
    ["host", "localhost"],
    ["host", "evil.example"],
  ]);
  expect(() => singleHost(two)).toThrow("more than one Host header");
  expect(() => singleHost(new Headers({ host: "a b" }))).toThrow('invalid Host header "a b"');
  expect(() => singleHost(new Headers({ host: "user@evil" }))).toThrow(/invalid Host header/);
});

test("sets our credentials and impersonation; groups come back separately, minus system:authenticated", () => {
  const h: HeaderRecord = {};
  const plan = planImpersonation({
    user: "alice",
    groups: ["developers", "ops", "system:authenticated"],
    extra: { "Kubeport-User": ["alice"], "kubeport-roles": ["dev", "a b"] },
  });
  const groups = applyImpersonation(h, "Bearer k8s-aws-v1.x", plan);
  expect(groups).toEqual(["developers", "ops"]);
  expect(h).toEqual({
    authorization: "Bearer k8s-aws-v1.x",
    "impersonate-user": "alice",
    "impersonate-extra-kubeport-user": "alice",
    "impersonate-extra-kubeport-roles": "dev,a%20b",
  });
});

test("the prebuilt identity set carries the one group; a plan of several groups is refused, not sent without them", () => {
  const one = fixedHeaders(planImpersonation({ user: "alice", groups: ["developers"] }), "Bearer t");
  expect(Object.fromEntries(one)).toEqual({
    authorization: "Bearer t",
    "impersonate-user": "alice",
    "impersonate-group": "developers",
  });
  const none = fixedHeaders(planImpersonation({ user: "bob", groups: ["system:authenticated"] }), "Bearer t");
  expect(none.has("impersonate-group")).toBe(false);
  // Several groups go through node:https, one line each (forward/http.ts); a prebuilt set would drop them.
  const two = planImpersonation({ user: "carol", groups: ["developers", "ops"] });
  expect(() => fixedHeaders(two, "Bearer t")).toThrow("2 groups");
});

test("response headers lose hop-by-hop and Connection-listed ones, in place", () => {
  const h = new Headers({
    connection: "close, X-Hop",
    "x-hop": "1",
    "keep-alive": "timeout=5",
    "content-type": "application/json",
    "content-length": "2",
    "transfer-encoding": "chunked",
  });
  expect(stripResponseHeaders(h)).toBe(h);
  expect([...h.keys()].sort()).toEqual(["content-length", "content-type"]);
});

test("impersonated names go out as UTF-8 bytes (one character per byte); ASCII as it is", () => {
  expect(headerBytes("alice@example.com")).toBe("alice@example.com");
  expect(Buffer.from(headerBytes("josé"), "latin1").toString("hex")).toBe("6a6f73c3a9");
  expect(Buffer.from(headerBytes("李雷"), "latin1").toString("utf8")).toBe("李雷");
  const plan = planImpersonation({ user: "zoë", groups: ["équipe", "ops"] });
  expect(plan.user).toBe(headerBytes("zoë"));
  expect(plan.groups).toEqual([headerBytes("équipe"), "ops"]);
});
