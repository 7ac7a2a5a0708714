// `kubeport start` with log.format json: every line it writes is one valid JSON object with no key
// twice (issue 11: every audit line carried "component" twice, gateway then audit, and Elasticsearch
// and OpenSearch refuse such documents). Runs the real CLI as a child and reads all it wrote.
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import { seedRegistry, tempConfig } from "../helpers/cli.ts";
import { duplicateKeys } from "../helpers/json-keys.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
const { dir, cfg, remove } = tempConfig(
  "kp-jsonlog-",
  (d) => `version: v1
kubeport:
  data_dir: ${join(d, "data")}
  log: { severity: INFO, format: json }
proxy_service:
  enabled: yes
  listen_addr: 127.0.0.1:0
  public_addr: localhost:3080
kubernetes_service:
  enabled: yes
  resources: [{ labels: { "*": "*" } }]
`,
);
afterAll(() => remove());

test("every line of a real start run parses as JSON with single keys, audit lines included", async () => {
  let token = "";
  await seedRegistry(join(dir, "data", "registry.db"), async (backend) => {
    await backend.put({
      kind: "role",
      version: "v1",
      metadata: { name: "dev" },
      spec: { allow: { kubernetes_labels: { env: "dev" }, kubernetes_groups: ["developers"] } },
    });
    await backend.put({
      kind: "user",
      version: "v1",
      metadata: { name: "alice" },
      spec: { roles: ["dev"], created: new Date().toISOString() },
    });
    token = await issueUserToken(backend, {
      user: "alice",
      issuer: kubeportIssuer({ public_addr: "localhost:3080" }),
    });
  });
  const proc = Bun.spawn([process.execPath, MAIN, "start", "-c", cfg], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 90_000,
  });
  let err = "";
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr) err += dec.decode(chunk, { stream: true });
  })();
  const waitFor = async (re: RegExp, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!re.test(err) && Date.now() < deadline) await Bun.sleep(50);
    return re.exec(err);
  };
  try {
    const listening = await waitFor(/"url":"(https:\/\/[^"]+)"/);
    expect(listening, err).not.toBeNull();
    const url = listening![1]!;
    const ca = readFileSync(join(dir, "data", "tls", "ca.pem"), "utf8");
    const get = (headers: Record<string, string>) =>
      fetch(`${url}/v1/clusters/nope/api/v1/pods`, { headers, tls: { ca } } as RequestInit);
    expect((await get({})).status).toBe(401);
    expect((await get({ authorization: `Bearer ${token}` })).status).toBe(404);
    // Refusals are written when their one-second window closes.
    expect(await waitFor(/"response_code":404[^\n]*"user":"alice"/), err).not.toBeNull();
    expect(await waitFor(/"reason":"no_token"/), err).not.toBeNull();
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    await reading;
  }
  const lines = err.split("\n").filter((l) => l.trim() !== "");
  expect(lines.length).toBeGreaterThan(3);
  const problems: string[] = [];
  for (const line of lines) {
    try {
      const dups = duplicateKeys(line);
      if (dups.length > 0) problems.push(`${dups.join(", ")} twice in ${line}`);
    } catch (e) {
      problems.push(`${(e as Error).message}: ${line}`);
    }
  }
  expect(problems).toEqual([]);
  const audit = lines.map((l) => JSON.parse(l)).filter((o) => o.component === "audit");
  expect(audit.map((o) => o.audit.event).sort()).toEqual(["auth", "kube.request"]);
}, 120_000);
