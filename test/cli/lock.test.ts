// ctl lock / get lock / rm lock: locks stored in the registry the gateways follow.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runCliCaptured, tempConfig } from "../helpers/cli.ts";

const { cfg, remove } = tempConfig("kp-lock-");
// Creates the registry file (read-only commands refuse a missing one).
beforeAll(() => runCliCaptured(["ctl", "-c", cfg, "tokens", "add", "--type", "kube"]));
afterAll(remove);
const ctl = (...args: string[]) => runCliCaptured(["ctl", "-c", cfg, ...args]);

describe("ctl lock", () => {
  test("--help names every option and how to lift a lock", async () => {
    const r = await ctl("lock", "--help");
    expect(r.code).toBe(0);
    for (const flag of [
      "--user USER",
      "--role ROLE",
      "--cluster CLUSTER",
      "--ttl DURATION",
      "--message TEXT",
    ])
      expect(r.stdout).toContain(flag);
    expect(r.stdout).toContain("ctl rm lock/NAME");
    expect((await ctl("get", "--help")).stdout).toContain("kubeport ctl get lock");
    expect((await ctl("rm", "--help")).stdout).toContain("kubeport ctl rm lock/NAME");
  });

  test.each([
    [[], "give --user, --role or --cluster"],
    [["--user", ""], "--user: must not be empty"],
    [["--user", "alice", "--ttl", "soon"], '--ttl: "soon" is not a duration'],
  ])("refuses %p with exit 2 and stores nothing", async (args, message) => {
    const r = await ctl("lock", ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect((await ctl("get", "lock", "--format", "json")).stdout.trim()).toBe("[]");
  });

  test("locks, lists and lifts", async () => {
    const made = await ctl(
      "lock",
      "--user",
      "alice",
      "--cluster",
      "prod",
      "--message",
      "laptop stolen",
      "--ttl",
      "2h",
    );
    expect(made.code).toBe(0);
    const name = /name "([0-9a-f-]{36})"/.exec(made.stdout)![1]!;
    expect(made.stdout).toContain("(user=alice,cluster=prod, for 2h)");
    expect(made.stdout).toContain(`kubeport ctl rm lock/${name}`);

    const table = await ctl("get", "lock");
    expect(table.stdout).toMatch(/NAME\s+TARGET\s+MESSAGE\s+EXPIRES\s+AGE/);
    expect(table.stdout).toContain("user=alice,cluster=prod");
    expect(table.stdout).toContain("laptop stolen");
    const [stored] = JSON.parse((await ctl("get", "lock", "--format", "json")).stdout);
    expect(stored.spec).toMatchObject({
      target: { user: "alice", cluster: "prod" },
      message: "laptop stolen",
    });
    const left = Date.parse(stored.metadata.expires) - Date.now();
    expect(left).toBeGreaterThan(2 * 3_600_000 - 60_000);
    expect(left).toBeLessThanOrEqual(2 * 3_600_000);

    const rm = await ctl("rm", `lock/${name}`);
    expect(rm.stdout).toBe(`lock "${name}" has been deleted\n`);
    expect((await ctl("get", "lock", "--format", "json")).stdout.trim()).toBe("[]");
  });
});
