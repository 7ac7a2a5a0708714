import { expect, test } from "bun:test";
import { isClusterUrl } from "./server.ts";

test("only paths under /v1/clusters/ take the cluster route directly; queries and lookalikes do not", () => {
  expect(isClusterUrl("https://gw:3080/v1/clusters/prod/api/v1/pods")).toBe(true);
  expect(isClusterUrl("https://gw:3080/v1/clusters/prod")).toBe(true);
  expect(isClusterUrl("https://gw:3080/v1/clusters")).toBe(false);
  expect(isClusterUrl("https://gw:3080/v1/clustersX/prod")).toBe(false);
  expect(isClusterUrl("https://gw:3080/healthz?next=/v1/clusters/prod")).toBe(false);
  expect(isClusterUrl("https://gw:3080/v1/status/clusters")).toBe(false);
  expect(isClusterUrl("/v1/clusters/prod/version")).toBe(true);
});
