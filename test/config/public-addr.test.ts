// proxy_service.public_addr may be a bare host, as in Teleport; it then takes listen_addr's port,
// so the kubeconfig server URL and the token issuer still name host:port.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, parseConfig } from "../../src/config/index.ts";
import { runCliCaptured as cli, dataDirConfig, tempConfig, writePlaceholderCa } from "../helpers/cli.ts";

const parse = (proxy: string) =>
  parseConfig(`version: v1\nproxy_service: { ${proxy} }\n`, "t.yaml", { env: {}, hostname: "h" });

describe("public_addr", () => {
  test.each<[string, string]>([
    ["public_addr: kubeport.example.com", "kubeport.example.com:3080"],
    ["listen_addr: '0.0.0.0:8443', public_addr: kubeport.example.com", "kubeport.example.com:8443"],
    ["listen_addr: '127.0.0.1:443', public_addr: 10.1.2.3", "10.1.2.3:443"],
    ["listen_addr: '[::]:8443', public_addr: '[2001:db8::1]'", "[2001:db8::1]:8443"],
    ["listen_addr: '0.0.0.0:8443', public_addr: 'kubeport.example.com:443'", "kubeport.example.com:443"],
    ["listen_addr: '0.0.0.0:8443'", "localhost:8443"],
  ])("%s → %s", (proxy, expected) => {
    expect(parse(proxy).proxy_service.public_addr).toBe(expected);
  });

  test.each<[string, string]>([
    ["public_addr: 'a b'", '"a b" is not host or host:port'],
    ["public_addr: 'host:99999'", '"host:99999" is not host or host:port'],
    [
      "public_addr: 'https://kubeport.example.com'",
      '"https://kubeport.example.com" is not host or host:port',
    ],
    [
      "listen_addr: '127.0.0.1:0', public_addr: kubeport.example.com",
      "needs a port (host:port) when listen_addr picks a free port (:0)",
    ],
  ])("rejects %s", (proxy, message) => {
    try {
      parse(proxy);
      throw new Error("expected a ConfigError");
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      expect(err.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
        `proxy_service.public_addr: ${message}`,
      ]);
    }
  });
});

describe("a bare public_addr reaches every consumer as host:port", () => {
  const { dir, cfg, remove } = tempConfig("kp-pubaddr-", (d) =>
    dataDirConfig(
      d,
      "proxy_service: { enabled: yes, listen_addr: '127.0.0.1:8443', public_addr: kp.example.com }",
      "kubernetes_service: { enabled: yes, resources: [{ labels: { '*': '*' } }] }",
    ),
  );
  beforeAll(async () => {
    writePlaceholderCa(dir);
    writeFileSync(
      join(dir, "c.yaml"),
      "kind: kube_cluster\nversion: v1\nmetadata: { name: prod }\nspec: { endpoint: 'https://127.0.0.1:1' }\n---\n" +
        "kind: role\nversion: v1\nmetadata: { name: ops }\nspec: { allow: { kubernetes_labels: { '*': '*' }, kubernetes_groups: [ops] } }\n",
    );
    expect((await cli(["ctl", "-c", cfg, "create", "-f", join(dir, "c.yaml")])).code).toBe(0);
    expect((await cli(["ctl", "-c", cfg, "users", "add", "ann", "--roles", "ops"])).code).toBe(0);
  });
  afterAll(remove);

  test("kubeconfig server URL and token issuer", async () => {
    const issuers: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await cli(["kubeconfig", "-c", cfg, "--user", "ann"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const token = /token: (\S+)/.exec(r.stdout)?.[1] ?? "";
      const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
      issuers.push(payload.iss);
      expect(r.stdout).toContain("server: https://kp.example.com:8443/v1/clusters/prod\n");
    }
    // The same config signs with the same issuer every time, so tokens stay valid across restarts.
    expect(issuers).toEqual(["https://kp.example.com:8443", "https://kp.example.com:8443"]);
  });
});
