// Attack-shaped checks of signing in: one answer for unknown users and wrong passwords, lockouts per
// name and per address with the time left, codes good once, invites single use and expiring, the
// console's cookie and CSRF rules, role max_session_ttl.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Credential } from "../../src/registry/index.ts";
import {
  acceptInviteByForm,
  inviteUser,
  type LoginWorld,
  nextCode,
  PASSWORD,
  startLoginWorld,
} from "./harness.ts";

setDefaultTimeout(60_000);

let w: LoginWorld;
let secret: string;
let ivanSecret: string;

const login = (body: Record<string, unknown>) =>
  w.gw.fetch("/v1/auth/login", {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });

beforeAll(async () => {
  w = await startLoginWorld({ proxyYaml: "  login: { max_failures: 3, lockout: 10m }\n" });
  secret = (await acceptInviteByForm(w, await inviteUser(w, "alice", "dev"))).secret;
  await inviteUser(w, "bob", "dev");
  ivanSecret = (await acceptInviteByForm(w, await inviteUser(w, "ivan", "dev"))).secret;
});
afterAll(() => w?.close());

describe("password + TOTP", () => {
  test("an unknown user and a wrong password get the same answer", async () => {
    const unknown = await login({ user: "mallory", password: PASSWORD, code: "123456" });
    const wrong = await login({ user: "alice", password: "not the password!", code: nextCode(secret) });
    const noCredential = await login({ user: "bob", password: PASSWORD, code: "123456" });
    const bodies = await Promise.all([unknown, wrong, noCredential].map((r) => r.text()));
    expect([unknown.status, wrong.status, noCredential.status]).toEqual([401, 401, 401]);
    expect(new Set(bodies).size).toBe(1);
    expect(bodies[0]).toContain("wrong user name, password or code");
  });

  test("a code is good once", async () => {
    const code = nextCode(secret, 1);
    expect((await login({ user: "alice", password: PASSWORD, code })).status).toBe(200);
    expect((await login({ user: "alice", password: PASSWORD, code })).status).toBe(401);
  });

  test("after max_failures a name is locked out, known or not, with the time left", async () => {
    for (const user of ["carol", "ivan"]) {
      for (let i = 0; i < 2; i++)
        expect((await login({ user, password: "bad password 123", code: "000000" })).status).toBe(401);
      const third = await login({ user, password: "bad password 123", code: "000000" });
      expect(third.status).toBe(429);
      const body = (await third.json()) as { error: string; retry_after_s: number };
      expect(body.error).toMatch(/too many failed sign-ins: try again in (9m\d+s|10m)/);
      expect(body.retry_after_s).toBeGreaterThan(590);
      expect(third.headers.get("retry-after")).toBe(String(body.retry_after_s));
    }
    // Locked: even the right password and a fresh code are refused, and the code is not spent.
    const right = await login({ user: "ivan", password: PASSWORD, code: nextCode(ivanSecret) });
    expect(right.status).toBe(429);
  });
});

describe("invites", () => {
  test("a used link shows a clear page and changes nothing", async () => {
    const path = await inviteUser(w, "erin", "dev");
    const first = await acceptInviteByForm(w, path);
    expect(first.status).toBe(200);
    const stored = (await w.gw.backend.get("credential", "erin")) as Credential;
    const again = await w.gw.fetch(path);
    expect(again.status).toBe(410);
    expect(await again.text()).toContain("already used");
    const post = await w.gw.fetch(path, {
      method: "POST",
      body: new URLSearchParams({ password: "another long password", confirm: "another long password" }),
    });
    expect(post.status).toBe(410);
    expect(((await w.gw.backend.get("credential", "erin")) as Credential).spec.password_hash).toBe(
      stored.spec.password_hash,
    );
  });

  test("an expired link shows a clear page and changes nothing", async () => {
    const path = await inviteUser(w, "frank", "dev");
    const [invite] = (await w.gw.backend.list("invite")).filter(
      (i) => (i.spec as { user: string }).user === "frank",
    );
    const { revision: _, ...metadata } = invite!.metadata;
    await w.gw.backend.put({
      ...invite!,
      metadata,
      spec: { ...(invite!.spec as object), expires: new Date(Date.now() - 1000).toISOString() },
    });
    const res = await w.gw.fetch(path);
    expect(res.status).toBe(410);
    expect(await res.text()).toContain("has expired");
    expect(await w.gw.backend.get("credential", "frank")).toBeUndefined();
  });

  test("a weak password or a wrong code keeps the link working and says what to fix", async () => {
    const path = await inviteUser(w, "gina", "dev");
    const weak = await acceptInviteByForm(w, path, "short");
    expect(weak.status).toBe(400);
    expect(weak.html).toContain("at least 12 characters");
    expect((await acceptInviteByForm(w, path)).status).toBe(200);
  });
});

describe("sessions and the console", () => {
  test("role max_session_ttl caps the session", async () => {
    const path = await inviteUser(w, "hank", "short");
    const { secret: s } = await acceptInviteByForm(w, path);
    const r = await login({ user: "hank", password: PASSWORD, code: nextCode(s) });
    const body = (await r.json()) as { expires: string };
    expect(Date.parse(body.expires) - Date.now()).toBeLessThanOrEqual(3_600_000);
    expect(Date.parse(body.expires) - Date.now()).toBeGreaterThan(3_500_000);
  });

  test("the sign-in form needs its CSRF value; the cookie is HttpOnly, Secure, SameSite=Strict", async () => {
    const page = await w.gw.fetch("/web/login");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)/);
    expect(html).not.toContain("style=");
    const pre = page.headers.getSetCookie()[0]!.split(";")[0]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    const form = (extra: Record<string, string>) =>
      w.gw.fetch("/web/login", {
        method: "POST",
        headers: { cookie: pre, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ user: "gina", password: PASSWORD, code: nextCode(secret, 0), ...extra }),
        redirect: "manual",
      });
    const forged = await form({ csrf: "forged" });
    expect(forged.status).toBe(403);
    expect(forged.headers.getSetCookie().join()).not.toContain("kubeport_session");
  });
});

// Last: it locks this test's address out of every sign-in.
describe("per address", () => {
  test("one address trying many names is locked out too", async () => {
    let last = 0;
    for (let i = 0; i < 12 && last !== 429; i++)
      last = (await login({ user: `scan-${i}`, password: "x".repeat(12), code: "000000" })).status;
    expect(last).toBe(429);
    const other = await login({ user: "dave", password: "x".repeat(12), code: "000000" });
    expect(other.status).toBe(429);
  });
});
