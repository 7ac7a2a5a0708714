import { expect, test } from "bun:test";
import { requestInfo } from "./request-info.ts";

test.each([
  ["GET", "/api/v1/namespaces/default/pods", "", { verb: "list", resource: "pods", namespace: "default" }],
  [
    "GET",
    "/api/v1/namespaces/default/pods",
    "?watch=true",
    { verb: "watch", resource: "pods", namespace: "default" },
  ],
  [
    "GET",
    "/api/v1/namespaces/default/pods/web-0",
    "",
    { verb: "get", resource: "pods", namespace: "default", name: "web-0" },
  ],
  [
    "GET",
    "/api/v1/namespaces/default/pods/web-0/log",
    "?follow=true",
    { verb: "get", subresource: "log", name: "web-0" },
  ],
  [
    "POST",
    "/apis/apps/v1/namespaces/x/deployments",
    "",
    { verb: "create", apiGroup: "apps", resource: "deployments", namespace: "x" },
  ],
  ["DELETE", "/api/v1/namespaces/x/pods", "", { verb: "deletecollection" }],
  [
    "GET",
    "/api/v1/namespaces/kube-system",
    "",
    { verb: "get", resource: "namespaces", name: "kube-system", namespace: "kube-system" },
  ],
  ["GET", "/version", "", { verb: "get", resourceRequest: false }],
])("%s %s%s", (method, path, q, want) => {
  expect(requestInfo(method, path, q)).toMatchObject(want);
});
