import { describe, expect, test } from "bun:test";
import { isKind } from "../lib/errors.ts";
import { parseClusterPath, rawTarget } from "./cluster-path.ts";

describe("parseClusterPath", () => {
  test.each([
    ["/v1/clusters/prod/api/v1/pods", "prod", "/api/v1/pods"],
    ["/v1/clusters/prod/api", "prod", "/api"],
    ["/v1/clusters/prod/apis/apps/v1", "prod", "/apis/apps/v1"],
    ["/v1/clusters/prod/version", "prod", "/version"],
    ["/v1/clusters/prod/openapi/v3/api/v1", "prod", "/openapi/v3/api/v1"],
    ["/v1/clusters/prod/livez", "prod", "/livez"],
    ["/v1/clusters/my%2Dcluster/api", "my-cluster", "/api"],
    [
      "/v1/clusters/eks-a-us-east-1-111111111111/api/v1/namespaces/default/pods/p%20q",
      "eks-a-us-east-1-111111111111",
      "/api/v1/namespaces/default/pods/p%20q",
    ],
  ])("serves %s", (raw, cluster, path) => {
    expect(parseClusterPath(raw)).toEqual({ cluster, path });
  });

  test.each([
    ["dot-dot into another cluster", "/v1/clusters/a/../b/api", "bad_parameter"],
    ["dot-dot after the prefix", "/v1/clusters/a/api/../../b/api", "bad_parameter"],
    ["encoded dot-dot", "/v1/clusters/a/%2e%2e/b/api", "bad_parameter"],
    ["mixed encoded dot-dot", "/v1/clusters/a/api/.%2E/x", "bad_parameter"],
    ["encoded slash in the name", "/v1/clusters/a%2fb/api", "bad_parameter"],
    ["encoded slash in the rest", "/v1/clusters/a/api%2F..%2F..", "bad_parameter"],
    ["double-encoded dot-dot as the name", "/v1/clusters/%252e%252e/api", "bad_parameter"],
    ["double slash", "/v1/clusters/a//api", "bad_parameter"],
    ["double slash in the rest", "/v1/clusters/a/api//v1", "bad_parameter"],
    ["backslash", "/v1/clusters/a\\..\\b/api", "bad_parameter"],
    ["encoded backslash", "/v1/clusters/a%5c..%5cb/api", "bad_parameter"],
    ["dot name", "/v1/clusters/./api", "bad_parameter"],
    ["NUL", "/v1/clusters/a%00/api", "bad_parameter"],
    ["bad percent-encoding", "/v1/clusters/%zz/api", "bad_parameter"],
    ["empty name", "/v1/clusters//api", "bad_parameter"],
    ["root outside the API", "/v1/clusters/a/metrics", "not_found"],
    ["prefix look-alike", "/v1/clusters/a/apiserver", "not_found"],
    ["no path", "/v1/clusters/a", "not_found"],
    ["debug endpoints", "/v1/clusters/a/debug/pprof", "not_found"],
  ])("refuses %s", (_why, raw, kind) => {
    let err: unknown;
    try {
      parseClusterPath(raw);
    } catch (e) {
      err = e;
    }
    expect(isKind(err, kind as "bad_parameter")).toBe(true);
  });
});

describe("rawTarget", () => {
  test("keeps the path exactly as sent, query apart", () => {
    expect(rawTarget("https://h:1/v1/clusters/a/../b/api?watch=true")).toEqual({
      path: "/v1/clusters/a/../b/api",
      search: "?watch=true",
    });
    expect(rawTarget("https://h/v1/x")).toEqual({ path: "/v1/x", search: "" });
  });
});
