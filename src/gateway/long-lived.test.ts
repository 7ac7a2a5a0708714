import { describe, expect, test } from "bun:test";
import { kubeBool, longLivedKind } from "./long-lived.ts";
import { requestInfo } from "./request-info.ts";

describe("kubeBool (apimachinery's Convert_Slice_string_To_bool)", () => {
  test.each([
    [null, false],
    ["0", false],
    ["false", false],
    ["False", false],
    ["FALSE", false],
    ["fal\u017fe", false],
    ["true", true],
    ["True", true],
    ["1", true],
    ["t", true],
    ["yes", true],
    ["no", true],
    ["", true],
    ["00", true],
    [" false", true],
  ] as const)("%p → %p", (value, want) => {
    expect(kubeBool(value)).toBe(want);
  });
});

describe("longLivedKind: one rule for the revoker and the stream cap", () => {
  const kind = (method: string, path: string, search = "", headers: Record<string, string> = {}) =>
    longLivedKind({ headers: new Headers(headers), info: requestInfo(method, path, search), search });

  test.each([
    ["/api/v1/pods", "?watch=true", "watch"],
    ["/api/v1/pods", "?watch=True", "watch"],
    ["/api/v1/pods", "?watch=yes", "watch"],
    ["/api/v1/pods", "?watch=", "watch"],
    ["/api/v1/pods", "?watch=yes&watch=false", "watch"],
    ["/api/v1/watch/namespaces/default/pods", "", "watch"],
    ["/apis/apps/v1/watch/deployments", "", "watch"],
    ["/api/v1/namespaces/default/pods/web-0/log", "?follow=true", "logs"],
    ["/api/v1/namespaces/default/pods/web-0/log", "?follow=True", "logs"],
    ["/api/v1/namespaces/default/pods/web-0/log", "?follow=yes", "logs"],
    ["/api/v1/namespaces/default/pods/web-0/log", "?container=a&follow", "logs"],
    ["/api/v1/namespaces/default/pods/web-0:8080/proxy/events", "", "proxy"],
    ["/api/v1/namespaces/default/services/https:web:443/proxy/", "", "proxy"],
    ["/api/v1/nodes/node-1/proxy/metrics", "", "proxy"],
    ["/api/v1/pods", "", undefined],
    ["/api/v1/pods", "?watch=false", undefined],
    ["/api/v1/pods", "?watch=0&watch=1", undefined],
    ["/api/v1/namespaces/default/pods/web-0/log", "", undefined],
    ["/api/v1/namespaces/default/pods/web-0/log", "?follow=false", undefined],
    ["/version", "?watch=true", undefined],
  ] as const)("GET %s%s → %p", (path, search, want) => {
    expect(kind("GET", path, search)).toBe(want);
  });

  test("a WebSocket upgrade is a stream whatever its path", () => {
    expect(kind("GET", "/api/v1/namespaces/d/pods/p/exec", "?command=sh", { upgrade: "WebSocket" })).toBe(
      "websocket",
    );
  });
});
