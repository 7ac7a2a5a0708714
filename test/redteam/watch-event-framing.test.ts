// Red team 5 on the JSON watch filter (issue 13; json-watch.ts): it judges a watch stream line by
// line and reads one event from each line, but a client does not read lines: client-go frames a JSON
// watch with a json.Decoder, value after value, whitespace between them or not. A line holding two
// events (`{…web-1…}{…db-1…}\n`) was judged by its first and passed whole, so the client also got
// the second, whose object the user may not see. Only an upstream that writes such lines (an
// aggregated API server) could send them, the same threat as repeated members (filter-item-readings).
// What reached the client is what is judged: the denied names must not be in its bytes at all.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import { cluster, startTestGateway, type TestGateway } from "../gateway/fixture.ts";
import { startTlsUpstream, type TlsUpstream } from "../helpers/tls-upstream.ts";
import { resourceRole, user } from "./harness.ts";

const ev = (type: string, name: string) =>
  `{"type":"${type}","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"${name}","namespace":"default"}}}`;

/** Watch bodies upstream sends, by case: each ends with a newline. */
const CASES: Record<string, string> = {
  "two events, nothing between": `${ev("ADDED", "web-1")}${ev("ADDED", "db-1")}\n`,
  "two events, a space between": `${ev("ADDED", "web-2")} ${ev("ADDED", "db-2")}\n`,
  "two events, a tab between, CRLF": `${ev("ADDED", "web-3")}\t${ev("MODIFIED", "db-3")}\r\n`,
  "an allowed event, then a denied one after a carriage return": `${ev("ADDED", "web-4")}\r${ev("ADDED", "db-4")}\n`,
  "control: one allowed event ended by CRLF and spaces": `${ev("ADDED", "web-6")}  \r\n`,
  "a BOOKMARK carrying a second event": `{"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"9"}}}${ev("ADDED", "db-5")}\n`,
};

let up: TlsUpstream<undefined>;
let gw: TestGateway;
let token: string;

beforeAll(async () => {
  up = await startTlsUpstream({
    fetch(req) {
      const u = new URL(req.url);
      const body =
        CASES[u.searchParams.get("fieldSelector") ?? ""] ??
        `${ev("ADDED", "web-0")}\n${ev("ADDED", "db-0")}\n`;
      return new Response(body, { headers: { "content-type": "application/json" } });
    },
  });
  gw = await startTestGateway({
    realAuth: true,
    clusters: [cluster("c", up.url, up.caPem)],
    resources: [
      resourceRole("web", [{ kind: "pods", namespace: "*", name: "web-*", verbs: ["*"] }]),
      user("wes", ["web"]),
    ],
  });
  token = await issueUserToken(gw.backend, {
    user: "wes",
    issuer: kubeportIssuer({ public_addr: "localhost:3080" }),
  });
}, 60_000);
afterAll(async () => {
  await gw?.close();
  await up?.stop();
});

/** What the client receives for a watch (the case rides in fieldSelector, which upstream reads back). */
async function watch(which?: string): Promise<string> {
  const q = which === undefined ? "" : `&fieldSelector=${encodeURIComponent(which)}`;
  const res = await gw.fetch(`/v1/clusters/c/api/v1/namespaces/default/pods?watch=1${q}`, { token });
  return await res.text();
}

test("control: one event per line, the denied one dropped; whitespace after an event is fine", async () => {
  const got = await watch();
  expect(got).toContain('"web-0"');
  expect(got).not.toContain('"db-0"');
  expect(await watch("control: one allowed event ended by CRLF and spaces")).toContain('"web-6"');
});

for (const which of Object.keys(CASES))
  test(`${which}: the denied event never reaches the client`, async () => {
    const got = await watch(which);
    expect(got).not.toMatch(/"db-\d"/);
  });
