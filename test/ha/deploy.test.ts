// deploy/: the two hosts' example configs load and form a pair; the systemd unit verifies.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseConfig } from "../../src/config/index.ts";

const DEPLOY = resolve(import.meta.dir, "../../deploy");
const load = (name: string) => parseConfig(readFileSync(join(DEPLOY, name), "utf8"), name, { env: {} });

describe("deploy/", () => {
  test("kubeport-a.yaml and kubeport-b.yaml load and differ only in nodename", () => {
    const a = load("kubeport-a.yaml");
    const b = load("kubeport-b.yaml");
    expect(a.kubeport.storage.type).toBe("redis");
    expect(a.kubeport.storage.cluster_nodes).toHaveLength(6);
    expect([a.kubeport.nodename, b.kubeport.nodename]).toEqual(["kubeport-a", "kubeport-b"]);
    const shared = (c: typeof a) => ({ ...c, kubeport: { ...c.kubeport, nodename: "" } });
    expect(shared(b)).toEqual(shared(a));
    // One issuer and one certificate for both, so tokens and kubeconfigs work on either host.
    expect(a.proxy_service.public_addr).toBe("kubeport.example.com:3080");
    expect(a.proxy_service.https_keypairs).toHaveLength(1);
    expect(a.discovery_service.discovery_group).toBe("aws-prod");
  });

  test.skipIf(!Bun.which("systemd-analyze"))("kubeport.service passes systemd-analyze verify", () => {
    const dir = mkdtempSync(join(tmpdir(), "kubeport-unit-"));
    try {
      // verify insists that ExecStart exists; point it at any executable.
      const unit = readFileSync(join(DEPLOY, "kubeport.service"), "utf8").replaceAll(
        "/usr/local/bin/kubeport",
        process.execPath,
      );
      writeFileSync(join(dir, "kubeport.service"), unit);
      const r = Bun.spawnSync(["systemd-analyze", "verify", join(dir, "kubeport.service")], {
        stderr: "pipe",
      });
      expect({ code: r.exitCode, stderr: r.stderr.toString() }).toEqual({ code: 0, stderr: "" });
      for (const line of [
        "User=kubeport",
        "KillSignal=SIGTERM",
        "StateDirectory=kubeport",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "Restart=on-failure",
      ])
        expect(unit).toContain(`\n${line}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
