// Red team 5 on issue 13's filtered-list memory work (70db6c7): each upstream chunk is detached
// (ArrayBuffer#transfer(0)) once filtered, and one scratch buffer is reused for every write of the
// answer, relying on whatever reads the answer to copy it. Attacked where that could break: a large
// chunked list (so the answer also goes through the revocable stream wrapper), through Bun's fetch
// (one group) and through node:https (a role with two kubernetes_groups), read slowly by the client
// (backpressure: writes wait while the scratch buffer is reused), several times in turn. What the
// client receives must be exactly the allowed items, byte for byte as upstream sent them.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import type { Resource } from "../../src/registry/index.ts";
import { cluster, startTestGateway, type TestGateway } from "../gateway/fixture.ts";
import { startTlsUpstream, type TlsUpstream } from "../helpers/tls-upstream.ts";
import { user } from "./harness.ts";

const N = 12_000;
/** Item i as upstream spells it (web-* visible, db-* not), with some bulk so chunks hold few items. */
const item = (i: number) =>
  `{"metadata":{"name":"${i % 3 === 0 ? "db" : "web"}-${i}","namespace":"default","uid":"${i}"},"spec":{"pad":"${"x".repeat(60 + (i % 97))}"}}`;
const EXPECTED = Array.from({ length: N }, (_, i) => i)
  .filter((i) => i % 3 !== 0)
  .map(item);

/** The list in chunks of varying size (7 B to 40 KiB), no Content-Length: a chunked answer. */
function chunked(): ReadableStream<Uint8Array> {
  const text = `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[${Array.from({ length: N }, (_, i) => item(i)).join(",")}]}`;
  const bytes = new TextEncoder().encode(text);
  const sizes = [7, 40_000, 1_000, 16_384, 3, 65_536, 9_999];
  let at = 0;
  let k = 0;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (at >= bytes.length) return c.close();
      const n = sizes[k++ % sizes.length]!;
      c.enqueue(bytes.slice(at, at + n));
      at += n;
      if (k % 5 === 0) await Bun.sleep(1);
    },
  });
}

const role = (name: string, groups: string[]): Resource =>
  ({
    kind: "role",
    version: "v1",
    metadata: { name },
    spec: {
      allow: {
        kubernetes_labels: { env: "dev" },
        kubernetes_groups: groups,
        kubernetes_resources: [{ kind: "pods", namespace: "*", name: "web-*", verbs: ["*"] }],
      },
    },
  }) as Resource;

let up: TlsUpstream<undefined>;
let gw: TestGateway;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  up = await startTlsUpstream({
    fetch: () => new Response(chunked(), { headers: { "content-type": "application/json" } }),
  });
  gw = await startTestGateway({
    realAuth: true,
    clusters: [cluster("c", up.url, up.caPem)],
    resources: [
      role("one-group", ["developers"]),
      role("two-groups", ["developers", "testers"]),
      user("uno", ["one-group"]),
      user("duo", ["two-groups"]),
    ],
  });
  for (const u of ["uno", "duo"])
    tokens[u] = await issueUserToken(gw.backend, {
      user: u,
      issuer: kubeportIssuer({ public_addr: "localhost:3080" }),
    });
}, 60_000);
afterAll(async () => {
  await gw?.close();
  await up?.stop();
});

/** The list as the client gets it, read `slowly` (a pause every 64 KiB). */
async function list(token: string, slowly: boolean): Promise<string> {
  const res = await gw.fetch("/v1/clusters/c/api/v1/namespaces/default/pods", { token });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const parts: Uint8Array[] = [];
  let since = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value.slice());
    since += value.length;
    if (slowly && since > 64 * 1024) {
      since = 0;
      await Bun.sleep(5);
    }
  }
  return Buffer.concat(parts).toString("utf8");
}

for (const who of ["uno", "duo"])
  test(`${who === "uno" ? "one group (fetch)" : "two groups (node:https)"}: a large chunked filtered list arrives exact, read fast and slowly, three times each`, async () => {
    for (let round = 0; round < 3; round++)
      for (const slowly of [false, true]) {
        const text = await list(tokens[who]!, slowly);
        const parsed = JSON.parse(text) as { items: unknown[] };
        const got = parsed.items.map((i) => JSON.stringify(i));
        expect(got.length).toBe(EXPECTED.length);
        const wrong = got.findIndex((g, k) => g !== EXPECTED[k]);
        expect(wrong).toBe(-1);
      }
  }, 120_000);
