import { expect, test } from "bun:test";
import { requestInfo } from "./request-info.ts";

const cases: [string, string, string, Record<string, unknown>][] = [
  [
    "GET",
    "/api/v1/namespaces/default/pods",
    "",
    { verb: "list", apiGroup: "", groupVersion: "core/v1", resource: "pods", namespace: "default" },
  ],
  [
    "GET",
    "/api/v1/namespaces/default/pods",
    "?watch=true",
    { verb: "watch", resource: "pods", namespace: "default" },
  ],
  ["GET", "/api/v1/namespaces/default/pods", "?watch=1&resourceVersion=5", { verb: "watch" }],
  ["GET", "/api/v1/namespaces/default/pods", "?watch=false", { verb: "list" }],
  ["GET", "/api/v1/namespaces/default/pods", "?watch=0", { verb: "list" }],
  // The API server reads ?watch= with apimachinery's Convert_Slice_string_To_bool (not
  // strconv.ParseBool): only 0 and false (any case) are false, the first value counts.
  ...["yes", "True", "t", "", "2", "yes&watch=false"].map(
    (v): [string, string, string, Record<string, unknown>] => [
      "GET",
      "/api/v1/namespaces/default/pods",
      `?watch=${v}`,
      { verb: "watch" },
    ],
  ),
  ...["FALSE", "False", "fal\u017fe", "0&watch=true"].map(
    (v): [string, string, string, Record<string, unknown>] => [
      "GET",
      "/api/v1/namespaces/default/pods",
      `?watch=${v}`,
      { verb: "list" },
    ],
  ),
  [
    "GET",
    "/api/v1/watch/namespaces/default/pods",
    "",
    { verb: "watch", resource: "pods", namespace: "default" },
  ],
  ["GET", "/api/v1/watch/pods", "", { verb: "watch", resource: "pods", namespace: undefined }],
  ["GET", "/api/v1/watch/namespaces/default/pods/web-1", "", { verb: "watch", name: "web-1" }],
  ["GET", "/api/v1/pods", "", { verb: "list", resource: "pods", namespace: undefined }],
  [
    "GET",
    "/api/v1/namespaces/default/pods/web-0",
    "",
    { verb: "get", resource: "pods", namespace: "default", name: "web-0" },
  ],
  ["HEAD", "/api/v1/namespaces/default/pods/web-0", "", { verb: "get", name: "web-0" }],
  [
    "GET",
    "/api/v1/namespaces/default/pods/web-0/log",
    "?follow=true",
    { verb: "get", subresource: "log", name: "web-0" },
  ],
  ["GET", "/api/v1/namespaces/default/pods/web-0/exec", "?command=ls", { verb: "get", subresource: "exec" }],
  ["POST", "/api/v1/namespaces/default/pods/web-0/attach", "", { verb: "create", subresource: "attach" }],
  [
    "GET",
    "/api/v1/namespaces/default/pods/web-0/portforward",
    "",
    { verb: "get", subresource: "portforward" },
  ],
  ["GET", "/api/v1/namespaces/default/pods/web-0/proxy/a/b", "", { subresource: "proxy", name: "web-0" }],
  ["PUT", "/api/v1/namespaces/default/pods/web-0/status", "", { verb: "update", subresource: "status" }],
  [
    "PATCH",
    "/apis/apps/v1/namespaces/x/deployments/web/scale",
    "",
    {
      verb: "patch",
      apiGroup: "apps",
      groupVersion: "apps/v1",
      resource: "deployments",
      name: "web",
      subresource: "scale",
    },
  ],
  [
    "POST",
    "/apis/apps/v1/namespaces/x/deployments",
    "",
    { verb: "create", apiGroup: "apps", resource: "deployments", namespace: "x" },
  ],
  ["PUT", "/apis/apps/v1/namespaces/x/deployments/web", "", { verb: "update", name: "web" }],
  ["DELETE", "/api/v1/namespaces/x/pods", "", { verb: "deletecollection", resource: "pods" }],
  ["DELETE", "/api/v1/namespaces/x/pods/p", "", { verb: "delete", name: "p" }],
  // Cluster-scoped.
  ["GET", "/api/v1/nodes/n1", "", { verb: "get", resource: "nodes", name: "n1", namespace: undefined }],
  [
    "GET",
    "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "",
    { verb: "list", apiGroup: "rbac.authorization.k8s.io", resource: "clusterroles", namespace: undefined },
  ],
  [
    "GET",
    "/apis/stable.example.com/v1/namespaces/default/crontabs/c1",
    "",
    { apiGroup: "stable.example.com", resource: "crontabs" },
  ],
  // The namespace object and its subresources.
  [
    "GET",
    "/api/v1/namespaces/kube-system",
    "",
    { verb: "get", resource: "namespaces", name: "kube-system", namespace: "kube-system" },
  ],
  ["GET", "/api/v1/namespaces", "?watch=true", { verb: "watch", resource: "namespaces", name: undefined }],
  [
    "PUT",
    "/api/v1/namespaces/x/finalize",
    "",
    { verb: "update", resource: "namespaces", name: "x", subresource: "finalize" },
  ],
  [
    "PUT",
    "/api/v1/namespaces/x/status",
    "",
    { verb: "update", resource: "namespaces", name: "x", subresource: "status" },
  ],
  // Encoded names are decoded once.
  ["GET", "/api/v1/namespaces/default/configmaps/a%3Ab", "", { name: "a:b" }],
  // Not resources: discovery, version, OpenAPI.
  ["GET", "/version", "", { verb: "get", resourceRequest: false }],
  ["GET", "/api", "", { resourceRequest: false }],
  ["GET", "/api/v1", "", { resourceRequest: false }],
  ["GET", "/apis", "", { resourceRequest: false }],
  ["GET", "/apis/apps", "", { resourceRequest: false }],
  ["GET", "/apis/apps/v1", "", { resourceRequest: false }],
  ["GET", "/openapi/v3", "", { resourceRequest: false }],
];

test.each(cases)("%s %s%s", (method, path, q, want) => {
  const got = requestInfo(method, path, q);
  for (const [k, v] of Object.entries(want))
    expect([k, got[k as keyof typeof got] as unknown]).toEqual([k, v]);
});
