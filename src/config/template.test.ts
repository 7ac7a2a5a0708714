import { describe, expect, test } from "bun:test";
import { parseConfig, renderConfigTemplate } from "./index.ts";

const opts = { env: {}, hostname: "h" };

describe("renderConfigTemplate", () => {
  test("defaults round-trip through parseConfig", () => {
    const text = renderConfigTemplate();
    expect(text).toContain("# kubeport configuration");
    const c = parseConfig(text, "t", opts);
    expect(c.discovery_service).toMatchObject({
      enabled: true,
      discovery_group: "aws-prod",
      poll_interval: 300_000,
    });
    expect(c.discovery_service.aws[0]).toMatchObject({
      types: ["eks"],
      regions: ["*"],
      tags: { "*": "*" },
      setup_access: true,
      access_mode: "least_privilege",
    });
    expect(c.kubeport.storage.type).toBe("sqlite");
    expect(c.proxy_service.enabled).toBe(true);
    expect(c.kubernetes_service.resources).toEqual([{ labels: { "*": "*" } }]);
  });

  test("the commented limits and diag_addr, uncommented, are valid and are the defaults", () => {
    let inLimits = false;
    const text = renderConfigTemplate()
      .split("\n")
      .map((l) => {
        if (/^ {2}# (limits:|diag_addr:)/.test(l)) {
          inLimits = l.includes("limits:");
          return l.replace("# ", "");
        }
        if (inLimits && l.startsWith("  #   ")) return l.replace("# ", "");
        inLimits = false;
        return l;
      })
      .join("\n");
    const c = parseConfig(text, "t", opts);
    expect(c.kubeport.diag_addr).toBe("127.0.0.1:3000");
    expect(c.proxy_service.limits).toEqual(parseConfig("version: v1\n", "t", opts).proxy_service.limits);
  });

  test("options round-trip through parseConfig", () => {
    const text = renderConfigTemplate({
      discoveryGroup: "prod",
      tags: { env: "prod", "team/x": "a b" },
      regions: ["us-east-1", "eu-west-1"],
      dataDir: "/srv/kp",
      storageUrl: "redis://:pw@10.0.0.1:6379/0",
      token: "/tmp/token",
      listenAddr: "127.0.0.1:0",
    });
    const c = parseConfig(text, "t", opts);
    expect(c.kubeport.data_dir).toBe("/srv/kp");
    expect(c.proxy_service.listen_addr).toBe("127.0.0.1:0");
    expect(c.kubeport.storage).toMatchObject({ type: "redis", url: "redis://:pw@10.0.0.1:6379/0" });
    expect(c.kubeport.join_params).toEqual({ method: "token", token_name: "/tmp/token" });
    expect(c.discovery_service.discovery_group).toBe("prod");
    expect(c.discovery_service.aws[0]?.regions).toEqual(["us-east-1", "eu-west-1"]);
    expect(c.discovery_service.aws[0]?.tags).toEqual({ env: "prod", "team/x": "a b" });
    expect(c.kubernetes_service.resources[0]?.labels).toEqual({ env: "prod", "team/x": "a b" });
  });
});
