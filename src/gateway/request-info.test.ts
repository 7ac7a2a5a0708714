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
  // The proxy's `[scheme:]name[:port]` (utilnet.SplitSchemeNamePort): the object is `name`.
  ["GET", "/api/v1/namespaces/default/pods/web-0:8080/proxy/", "", { subresource: "proxy", name: "web-0" }],
  [
    "GET",
    "/api/v1/namespaces/default/pods/https:web-0:443/proxy",
    "",
    { subresource: "proxy", name: "web-0" },
  ],
  [
    "GET",
    "/api/v1/namespaces/default/pods/http%3Aweb-0%3A80/proxy",
    "",
    { subresource: "proxy", name: "web-0" },
  ],
  [
    "GET",
    "/api/v1/namespaces/default/services/http:web:http/proxy/x",
    "",
    { resource: "services", name: "web" },
  ],
  ["GET", "/api/v1/nodes/node-1:10250/proxy/metrics", "", { resource: "nodes", name: "node-1" }],
  // Segments the API server refuses (400, nothing proxied) are kept whole.
  ["GET", "/api/v1/namespaces/default/pods/ftp:web-0:21/proxy", "", { name: "ftp:web-0:21" }],
  ["GET", "/api/v1/namespaces/default/pods/a:b:c:d/proxy", "", { name: "a:b:c:d" }],
  ["GET", "/api/v1/namespaces/default/pods/:80/proxy", "", { name: ":80" }],
  // Only the proxy subresource, and only the core kinds that have it, read the segment so.
  ["GET", "/api/v1/namespaces/default/pods/web-0:80/log", "", { name: "web-0:80" }],
  ["GET", "/apis/x.example.com/v1/namespaces/d/pods/web-0:80/proxy", "", { name: "web-0:80" }],
  // The query as Go's url.ParseQuery reads it.
  ["GET", "/api/v1/namespaces/default/pods", "?w%61tch=1", { verb: "watch" }],
  ["GET", "/api/v1/namespaces/default/pods", "?watch=1;", { verb: "list" }],
  ["GET", "/api/v1/namespaces/default/pods", "?watch=%zz", { verb: "list" }],
  ["GET", "/api/v1/namespaces/default/pods", "?watch=1;&watch=1", { verb: "watch" }],
  ["GET", "/api/v1/namespaces/default/pods", "?watch=0;&watch=1", { verb: "watch" }],
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
