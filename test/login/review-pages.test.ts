// The console's audit log and session recordings, through a real gateway with real recordings (exec
// sessions on the simulated EKS clusters): who sees what (review_recordings, deny wins, one's own
// recordings only otherwise; another's recording is "not found"), the audit log reading the same
// search as `ctl audit search`, its filters and their mistakes, the asciicast the player loads and
// the audit event its read leaves, and the page's CSP.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { AUDIT_STREAM } from "../../src/audit/index.ts";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import { eksCredentials } from "../../src/gateway/index.ts";
import type { Resource } from "../../src/registry/index.ts";
import { startDevProdSim, startTestGateway, type TestGateway } from "../gateway/fixture.ts";
import { runCliCaptured } from "../helpers/cli.ts";
import { openExec } from "../recording/exec-client.ts";
import { acceptInviteByForm, inviteUser, nextCode, PASSWORD, roles } from "./harness.ts";

setDefaultTimeout(120_000);

const noReview: Resource = {
  kind: "role",
  version: "v1",
  metadata: { name: "no-review" },
  spec: { allow: {}, deny: { review_recordings: true } },
};

let sims: Awaited<ReturnType<typeof startDevProdSim>>;
let gw: TestGateway;
/** Console session cookies by user. */
const cookie: Record<string, string> = {};
/** Each user's recorded exec session id. */
const sid: Record<string, string> = {};

async function consoleSignIn(user: string, secret: string): Promise<string> {
  const page = await gw.fetch("/web/login");
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const pre = page.headers.getSetCookie()[0]!.split(";")[0]!;
  const res = await gw.fetch("/web/login", {
    method: "POST",
    redirect: "manual",
    headers: { cookie: pre, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf, user, password: PASSWORD, code: nextCode(secret) }),
  });
  expect(res.status).toBe(303);
  return res.headers
    .getSetCookie()
    .find((c) => c.startsWith("__Host-kubeport_session="))!
    .split(";")[0]!;
}

const get = (user: string, path: string) => gw.fetch(path, { headers: { cookie: cookie[user]! } });
/** A page's text as a person reads it: tags out, entities decoded, spaces collapsed. */
const text = async (res: Response) =>
  (await res.text())
    .replace(/<[^>]+>/g, " ")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ");

beforeAll(async () => {
  sims = await startDevProdSim();
  gw = await startTestGateway({
    realAuth: true,
    web: true,
    credentials: eksCredentials(),
    clusters: sims.clusters,
    resources: [...roles, noReview],
  });
  const w = { gw };
  for (const [user, roleList] of [
    ["alice", "dev"],
    ["audrey", "dev,auditor"],
    ["dan", "dev,auditor,no-review"],
  ] as const) {
    const { secret } = await acceptInviteByForm(w as never, await inviteUser(w, user, roleList));
    cookie[user] = await consoleSignIn(user, secret);
  }
  // A recorded exec session each for alice and audrey, as kubectl exec makes them.
  const issuer = kubeportIssuer({ public_addr: "localhost:3080" });
  for (const user of ["alice", "audrey"]) {
    const token = await issueUserToken(gw.backend, { user, issuer });
    const url = `${gw.gateway.url.replace("https", "wss")}/v1/clusters/dev-a/api/v1/namespaces/default/pods/web-0/exec?command=echo&command=hello-from-${user}&stdout=true`;
    const s = await openExec(url, token, gw.gateway.caPem!);
    await s.closed;
    sid[user] = await s.sid(gw.backend);
  }
  // Wait until both recordings have their end (the auditor's list shows their length).
  const deadline = Date.now() + 30_000;
  for (;;) {
    const page = await text(await get("audrey", "/web/recordings"));
    if (
      !page.includes("no end recorded") &&
      page.includes("hello-from-alice") &&
      page.includes("hello-from-audrey")
    )
      break;
    if (Date.now() > deadline) throw new Error(`recordings never ended: ${page}`);
    await Bun.sleep(100);
  }
});
afterAll(async () => {
  await gw?.close();
  await sims?.close();
});

describe("who sees what", () => {
  test("a person without review_recordings: no audit log, only their own recordings", async () => {
    const clusters = await get("alice", "/web/clusters");
    const nav = await clusters.text();
    expect(nav).toContain('href="/web/recordings"');
    expect(nav).not.toContain('href="/web/audit"');
    const audit = await get("alice", "/web/audit");
    expect(audit.status).toBe(403);
    expect(await text(audit)).toContain("The audit log is for people whose roles allow review_recordings");
    const list = await text(await get("alice", "/web/recordings"));
    expect(list).toContain("Your own recorded exec and attach sessions");
    expect(list).toContain("hello-from-alice");
    expect(list).not.toContain("hello-from-audrey");
    // Another's recording, and its cast, answer as one that does not exist.
    for (const path of [`/web/recordings/${sid.audrey}`, `/web/recordings/${sid.audrey}/cast`]) {
      const res = await get("alice", path);
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain("hello-from-audrey");
    }
    const mine = await get("alice", `/web/recordings/${sid.alice}/cast`);
    expect(mine.status).toBe(200);
    expect(await mine.text()).toContain("hello-from-alice");
  });

  test("review_recordings: the audit log and everyone's recordings", async () => {
    const nav = await (await get("audrey", "/web/clusters")).text();
    expect(nav).toContain('href="/web/audit"');
    const list = await text(await get("audrey", "/web/recordings"));
    expect(list).toContain("Recorded exec and attach sessions of everyone");
    expect(list).toContain("hello-from-alice");
    expect(list).toContain("hello-from-audrey");
    const filtered = await text(await get("audrey", "/web/recordings?user=alice"));
    expect(filtered).toContain("hello-from-alice");
    expect(filtered).not.toContain("hello-from-audrey");
    expect((await get("audrey", `/web/recordings/${sid.alice}`)).status).toBe(200);
  });

  test("a role that denies review_recordings wins over one that allows it", async () => {
    expect((await get("dan", "/web/audit")).status).toBe(403);
    const list = await text(await get("dan", "/web/recordings"));
    expect(list).not.toContain("hello-from-alice");
    expect((await get("dan", `/web/recordings/${sid.alice}/cast`)).status).toBe(404);
  });

  test("not signed in: the sign-in page, nothing of the recording", async () => {
    for (const path of ["/web/audit", "/web/recordings", `/web/recordings/${sid.alice}/cast`]) {
      const res = await gw.fetch(path, { redirect: "manual" });
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toStartWith("/web/login?next=");
    }
    expect((await get("audrey", "/web/recordings/not-a-session-id")).status).toBe(404);
  });
});

describe("a recording in the browser's player", () => {
  test("the player page loads the bundle and play.js from /web/assets, under a CSP without inline script", async () => {
    const res = await get("audrey", `/web/recordings/${sid.alice}`);
    const html = await res.text();
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(csp).not.toContain("unsafe-inline");
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]!);
    expect(scripts.length).toBe(2);
    for (const s of scripts) expect(s).toMatch(/src="\/web\/assets\/[a-z.-]+\.js"/);
    expect(html).not.toContain("style=");
    expect(html).toContain(`data-cast="/web/recordings/${sid.alice}/cast"`);
    for (const asset of ["asciinema-player.min.js", "asciinema-player.css", "play.js"])
      expect((await gw.fetch(`/web/assets/${asset}`)).status).toBe(200);
  });

  test("the cast is asciicast v2 of the session, and reading it is on the audit record", async () => {
    const res = await get("audrey", `/web/recordings/${sid.alice}/cast`);
    expect(res.headers.get("content-type")).toContain("application/x-asciicast");
    const [header, ...events] = (await res.text()).trim().split("\n");
    expect(JSON.parse(header!)).toMatchObject({ version: 2, width: 80, height: 24 });
    expect(events.map((l) => JSON.parse(l)[2]).join("")).toContain("hello-from-alice\r\n");
    // Audit events are written behind the request: wait for audrey's read to reach the registry.
    let access: Record<string, unknown> | undefined;
    for (const deadline = Date.now() + 20_000; !access && Date.now() < deadline; await Bun.sleep(100))
      access = (await gw.backend.readStream(AUDIT_STREAM, { limit: 100_000 }))
        .map((r) => r.entry as Record<string, unknown>)
        .find((e) => e.event === "session.recording.access" && e.sid === sid.alice && e.user === "audrey");
    expect(access).toMatchObject({ code: "T2012I", session_user: "alice", kubernetes_cluster: "dev-a" });
  });
});

describe("the audit log", () => {
  const uidsOf = (html: string) => [...html.matchAll(/data-uid="([^"]+)"/g)].map((m) => m[1]!);
  const cliUids = async (...args: string[]) =>
    (
      await runCliCaptured(["ctl", "-c", gw.configPath, "audit", "search", "--format", "json", ...args])
    ).stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l).uid as string)
      .reverse();

  test("the same events as ctl audit search, newest first, for each filter", async () => {
    for (const [query, args] of [
      ["", []],
      ["?user=alice", ["--user", "alice"]],
      ["?type=T2000I", ["--type", "T2000I"]],
      ["?cluster=dev-a&type=session.end", ["--cluster", "dev-a", "--type", "session.end"]],
      ["?user=audrey&since=1h", ["--user", "audrey", "--since", "1h"]],
    ] as const) {
      // Events of earlier requests may still be on their way to the registry: read both until they agree.
      let seen: { console: string[]; cli: string[] } = { console: [], cli: [] };
      for (const deadline = Date.now() + 20_000; Date.now() < deadline; await Bun.sleep(200)) {
        const res = await get("audrey", `/web/audit${query}`);
        expect(res.status).toBe(200);
        seen = { console: uidsOf(await res.text()), cli: (await cliUids(...args)).slice(0, 200) };
        if (JSON.stringify(seen.console) === JSON.stringify(seen.cli)) break;
      }
      expect({ query, uids: seen.console }).toEqual({ query, uids: seen.cli });
      expect(seen.console.length).toBeGreaterThan(0);
    }
  });

  test("a session's events link to its recording; a window before anything matches nothing", async () => {
    const page = await (await get("audrey", `/web/audit?type=session.start&user=alice`)).text();
    expect(page).toContain(`href="/web/recordings/${sid.alice}"`);
    expect(await text(await get("audrey", "/web/audit?until=2001-01-01"))).toContain("No event matches.");
  });

  test("a mistaken filter names the field and how to write it", async () => {
    const res = await get("audrey", "/web/audit?since=yesterday");
    expect(res.status).toBe(400);
    expect(await text(res)).toContain(
      'Since: "yesterday" is not a duration ago (30m, 1h, 7d) or a UTC date and time (2026-12-03 10:00)',
    );
    const limit = await get("audrey", "/web/audit?limit=100000");
    expect(limit.status).toBe(400);
    expect(await text(limit)).toContain("limit: must be a whole number from 1 to 1000");
    const long = await get("audrey", `/web/audit?user=${"x".repeat(300)}`);
    expect(long.status).toBe(400);
    expect(await text(long)).toContain("user: longer than 256 characters");
  });
});
