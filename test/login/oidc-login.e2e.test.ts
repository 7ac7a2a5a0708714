// Signing in with an OIDC issuer, against a real one the test starts (authorize, token and device
// endpoints, PKCE S256, state, nonce, the device grant's polling rules): `kubeport login` through the
// browser flow (the authorize URL driven by an HTTP client, as a browser would follow it) and with
// --headless (RFC 8628, slow_down honoured), the console's sign-in, and the attacks: a callback with
// a wrong state, a code redeemed with another sign-in's PKCE verifier.
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  setDefaultTimeout,
  test,
} from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { challengeOf, newVerifier } from "../../src/lib/oauth/index.ts";
import { type OidcIssuer, startOidcIssuer } from "../helpers/oidc-issuer.ts";
import { type LoginWorld, MAIN, type Person, person, startLoginWorld } from "./harness.ts";

// Subprocesses and a device grant that waits its interval (plus 5 s after slow_down) on a loaded machine.
setDefaultTimeout(120_000);

let w: LoginWorld;
let idp: OidcIssuer;
/** An issuer whose OAuth client (client_id) is not the audience the gateway's bearer tokens carry. */
let other: OidcIssuer;
let bob: Person;
const CONSOLE_CALLBACK = "https://localhost:3080/web/oidc/callback";

beforeAll(async () => {
  idp = await startOidcIssuer({ redirectUris: [CONSOLE_CALLBACK] });
  other = await startOidcIssuer({ clientId: "kubeport-login" });
  w = await startLoginWorld({
    proxyYaml: [
      "  oidc:",
      `    - issuer_url: ${idp.issuerUrl}`,
      "      audience: kubeport",
      "      username_prefix: '-'",
      "      display_name: Test SSO",
      "      groups_to_roles: { engineers: [dev], oncall: [short] }",
      `    - issuer_url: ${other.issuerUrl}`,
      "      audience: kubernetes",
      "      client_id: kubeport-login",
      "      display_name: Other SSO",
      "      groups_to_roles: { engineers: [dev] }",
      "",
    ].join("\n"),
  });
});
afterAll(async () => {
  await w?.close();
  idp?.stop();
  other?.stop();
});
afterEach(() => {
  // A test that failed half-way leaves its login waiting: it must not poll into the next test.
  for (const p of running.splice(0)) p.kill();
});
beforeEach(() => {
  bob?.remove();
  bob = person();
  idp.signedIn = undefined;
  idp.device = { interval: 1, expiresIn: 120, slowDownOnce: false };
  idp.polls.length = 0;
  idp.tokenCalls.length = 0;
});

const sessions = async () => (await w.gw.backend.list("login_session")).length;

/** `kubeport login` as a running process: what it printed so far, and its end. */
interface Running {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** stderr up to `marker`. */
  stderrUntil(marker: RegExp): Promise<string>;
  done(): Promise<{ code: number; stdout: string; stderr: string }>;
}

const running: Subprocess[] = [];

function startLogin(p: Person, extra: string[]): Running {
  return startKubeport(["login", "--proxy", `https://${w.proxy}`, "--ca-file", w.caFile, ...extra], p.env);
}

function startKubeport(args: string[], env: Record<string, string>): Running {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], {
    env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: 90_000,
  });
  running.push(proc);
  // stderr is read from the start into `err`; waits look at what has arrived.
  let err = "";
  const decoder = new TextDecoder();
  const pumped = (async () => {
    for await (const chunk of proc.stderr) err += decoder.decode(chunk, { stream: true });
  })();
  return {
    proc,
    async stderrUntil(marker) {
      const deadline = Date.now() + 60_000;
      while (!marker.test(err) && proc.exitCode === null && Date.now() < deadline) await Bun.sleep(20);
      return err;
    },
    async done() {
      const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited, pumped]);
      return { code, stdout, stderr: err };
    },
  };
}

const AUTHORIZE_URL = /http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+/;
const DEVICE_CODE = /enter the code ([A-Z0-9-]+)/;

/** A browser at the issuer: signs `who` in on its form and returns where the issuer sends it back. */
async function signInAtIssuer(authorizeUrl: string, who: string): Promise<string> {
  const form = await fetch(authorizeUrl, { redirect: "manual" });
  const html = await form.text();
  expect(form.status).toBe(200);
  const request = /name="request" value="([^"]+)"/.exec(html)?.[1];
  const back = await fetch(new URL("/authorize", authorizeUrl), {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ request: request ?? "", person: who }),
  });
  expect(back.status).toBe(302);
  return back.headers.get("location")!;
}

describe("kubeport login through the browser (Authorization Code + PKCE, loopback callback)", () => {
  test("signs in, writes contexts, and kubectl reaches the cluster as the issuer's person", async () => {
    const run = startLogin(bob, ["--browser", "none"]);
    const printed = await run.stderrUntil(AUTHORIZE_URL);
    const url = new URL(AUTHORIZE_URL.exec(printed)![0]);
    // What tsh sends: code flow, S256 challenge of a 43-character verifier, state, nonce, loopback redirect.
    expect(url.searchParams.get("response_type")).toBe("code");
    expect(url.searchParams.get("client_id")).toBe("kubeport");
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get("state")!.length).toBeGreaterThanOrEqual(32);
    expect(url.searchParams.get("nonce")!.length).toBeGreaterThanOrEqual(32);
    expect(url.searchParams.get("scope")).toBe("openid email");
    expect(url.searchParams.get("redirect_uri")).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);

    const callback = await signInAtIssuer(url.toString(), "alice");
    const landed = await fetch(callback);
    expect(landed.status).toBe(200);
    expect(await landed.text()).toContain("You can close this tab");
    const r = await run.done();
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Logged in as:       alice@example.com");
    expect(r.stdout).toContain("1 cluster: dev-1");
    expect(idp.tokenCalls).toEqual([{ grant_type: "authorization_code", answer: "tokens" }]);

    const before = w.upstream.proxied().length;
    const k = await bob.kubectl(["--context", "127.0.0.1-dev-1", "version", "-o", "json"]);
    expect(k.stderr).toBe("");
    expect(k.code).toBe(0);
    // kubectl's request, not one of the gateway's own health checks (GET /version too, on a timer).
    const seen = w.upstream
      .proxied()
      .slice(before)
      .find((q) => q.target.startsWith("/version"));
    expect(seen?.headers.get("impersonate-user")).toBe("alice@example.com");
    const status = await bob.kubeport(["status", "-o", "json"]);
    expect(JSON.parse(status.stdout)[0]).toMatchObject({
      user: "alice@example.com",
      source: "oidc",
      issuer: idp.issuerUrl,
      roles: ["dev"],
    });
  });

  test("a callback with a wrong state is refused and the sign-in goes on; the right one completes", async () => {
    const run = startLogin(bob, ["--browser", "none"]);
    const url = new URL(AUTHORIZE_URL.exec(await run.stderrUntil(AUTHORIZE_URL))![0]);
    const redirect = url.searchParams.get("redirect_uri")!;
    const forged = await fetch(`${redirect}?code=stolen&state=not-the-state`);
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain("does not belong to the sign-in kubeport started");
    const noState = await fetch(`${redirect}?code=stolen`);
    expect(noState.status).toBe(400);
    // The forged codes never reached the issuer.
    expect(idp.tokenCalls).toEqual([]);
    expect((await fetch(await signInAtIssuer(url.toString(), "alice"))).status).toBe(200);
    const r = await run.done();
    expect(r.code).toBe(0);
    expect(idp.tokenCalls).toEqual([{ grant_type: "authorization_code", answer: "tokens" }]);
  });

  test("a code issued to another sign-in (another PKCE challenge) is refused: no session", async () => {
    const run = startLogin(bob, ["--browser", "none"]);
    const url = new URL(AUTHORIZE_URL.exec(await run.stderrUntil(AUTHORIZE_URL))![0]);
    const before = await sessions();
    // The attacker's own authorization request with the victim's redirect and state, its own challenge.
    const theirs = new URL(url);
    theirs.searchParams.set("code_challenge", challengeOf(newVerifier()));
    const injected = await signInAtIssuer(theirs.toString(), "alice");
    expect(new URL(injected).searchParams.get("state")).toBe(url.searchParams.get("state"));
    await fetch(injected);
    const r = await run.done();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("invalid_grant: PKCE verification failed");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(idp.tokenCalls).toEqual([{ grant_type: "authorization_code", answer: "invalid_grant" }]);
    expect(await sessions()).toBe(before);
  });

  test("the issuer's refusal reaches the person", async () => {
    const run = startLogin(bob, ["--browser", "none"]);
    const url = new URL(AUTHORIZE_URL.exec(await run.stderrUntil(AUTHORIZE_URL))![0]);
    const back = new URL(url.searchParams.get("redirect_uri")!);
    back.searchParams.set("error", "access_denied");
    back.searchParams.set("error_description", "the person said no");
    back.searchParams.set("state", url.searchParams.get("state")!);
    expect((await fetch(back)).status).toBe(400);
    const r = await run.done();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("the issuer refused the sign-in: access_denied (the person said no)");
  });
});

describe("kubeport login --headless (Device Authorization Grant, RFC 8628)", () => {
  /** Resolves when the issuer has answered `n` polls. */
  const polled = async (n: number) => {
    const deadline = Date.now() + 60_000;
    while (idp.polls.length < n && Date.now() < deadline) await Bun.sleep(50);
    expect(idp.polls.length).toBeGreaterThanOrEqual(n);
  };

  test("approved on another device: signed in; after slow_down it polls 5 s slower, never too fast", async () => {
    idp.device = { interval: 1, expiresIn: 120, slowDownOnce: true };
    const run = startLogin(bob, ["--headless"]);
    const printed = await run.stderrUntil(DEVICE_CODE);
    expect(printed).toContain(`open ${idp.issuerUrl}/device`);
    const userCode = DEVICE_CODE.exec(printed)![1]!;
    await polled(1);
    expect(idp.polls[0]!.answer).toBe("slow_down");
    expect((await idp.decideDevice(userCode, "alice")).status).toBe(200);
    const r = await run.done();
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Logged in as:       alice@example.com");
    expect(idp.polls.map((p) => p.answer).at(-1)).toBe("tokens");
    // Interval 1 s + 5 s after the slow_down; had it polled sooner the issuer would have said slow_down again.
    expect(idp.polls.filter((p) => p.answer === "slow_down")).toHaveLength(1);
    expect(idp.polls[1]!.at - idp.polls[0]!.at).toBeGreaterThanOrEqual(6000);
  });

  test("authorization_pending keeps it polling at the interval until approval", async () => {
    const run = startLogin(bob, ["--headless"]);
    const userCode = DEVICE_CODE.exec(await run.stderrUntil(DEVICE_CODE))![1]!;
    await polled(2);
    expect(idp.polls.slice(0, 2).map((p) => p.answer)).toEqual([
      "authorization_pending",
      "authorization_pending",
    ]);
    await idp.decideDevice(userCode, "alice");
    const r = await run.done();
    expect(r.code).toBe(0);
    expect(idp.polls.some((p) => p.answer === "slow_down")).toBe(false);
  });

  test("an issuer whose client_id is not the audience: its ID tokens (aud = client_id) sign in", async () => {
    const run = startLogin(bob, ["--headless", "--auth", "Other SSO"]);
    const userCode = DEVICE_CODE.exec(await run.stderrUntil(DEVICE_CODE))![1]!;
    await other.decideDevice(userCode, "alice");
    const r = await run.done();
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    // No username_prefix configured: the issuer's URL and "#" (kube-apiserver's default).
    expect(r.stdout).toContain(`Logged in as:       ${other.issuerUrl}#alice@example.com`);
  });

  test("a role from the issuer's groups with max_session_ttl caps the login session", async () => {
    idp.people.carol = { sub: "u-carol", email: "carol@example.com", groups: ["engineers", "oncall"] };
    const run = startLogin(bob, ["--headless"]);
    const userCode = DEVICE_CODE.exec(await run.stderrUntil(DEVICE_CODE))![1]!;
    await idp.decideDevice(userCode, "carol");
    const r = await run.done();
    expect(r.code).toBe(0);
    const [status] = JSON.parse((await bob.kubeport(["status", "-o", "json"])).stdout);
    expect(status).toMatchObject({ user: "carol@example.com", roles: ["dev", "short"] });
    // Role "short" says 1h; the gateway's session_ttl is 12h.
    const left = Date.parse(status.expires) - Date.now();
    expect(left).toBeLessThanOrEqual(3_600_000);
    expect(left).toBeGreaterThan(3_000_000);
  });

  test("refused on the device page: a clear message, no session", async () => {
    const before = await sessions();
    const run = startLogin(bob, ["--headless"]);
    const userCode = DEVICE_CODE.exec(await run.stderrUntil(DEVICE_CODE))![1]!;
    await idp.decideDevice(userCode, "alice", true);
    const r = await run.done();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("the sign-in was refused on the device page");
    expect(await sessions()).toBe(before);
  });

  test("never approved: the code expires (expired_token) with a message to sign in again", async () => {
    idp.device = { interval: 1, expiresIn: 3, slowDownOnce: false };
    const run = startLogin(bob, ["--headless"]);
    await run.stderrUntil(DEVICE_CODE);
    const r = await run.done();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("the code expired before it was approved; run kubeport login again");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("kubectl's exec plugin when the login has ended (a person at the terminal)", () => {
  test("runs at once open one browser tab between them; the others say who is signing in; the renewed login serves what follows", async () => {
    const first = startLogin(bob, ["--headless"]);
    await idp.decideDevice(DEVICE_CODE.exec(await first.stderrUntil(DEVICE_CODE))![1]!, "alice");
    expect((await first.done()).code).toBe(0);
    const profileFile = join(bob.home, ".kubeport", "profiles", `${w.proxy.replace(":", "_")}.json`);
    const ended = JSON.parse(readFileSync(profileFile, "utf8"));
    const endedAt = new Date(Date.now() - 1000).toISOString();
    writeFileSync(profileFile, JSON.stringify({ ...ended, expires: endedAt }));

    // The person's browser: every tab a plugin run opens is a line in `tabs`.
    const tabs = join(bob.home, "tabs");
    const browser = join(bob.home, "browser.sh");
    writeFileSync(browser, `#!/bin/sh\necho "$1" >> '${tabs}'\n`, { mode: 0o755 });
    const opened = () => {
      try {
        return readFileSync(tabs, "utf8").split("\n").filter(Boolean);
      } catch {
        return [];
      }
    };
    // What kubectl sets when it runs the plugin for a person at a terminal (interactiveMode IfAvailable).
    const env = {
      ...bob.env,
      BROWSER: browser,
      KUBERNETES_EXEC_INFO: JSON.stringify({
        apiVersion: "client.authentication.k8s.io/v1",
        kind: "ExecCredential",
        spec: { interactive: true },
      }),
    };
    const plugin = () => startKubeport(["kube", "credentials", `--proxy=${w.proxy}`, "--cluster=dev-1"], env);

    const signer = plugin();
    const deadline = Date.now() + 60_000;
    while (opened().length === 0 && signer.proc.exitCode === null && Date.now() < deadline)
      await Bun.sleep(20);
    expect(opened()).toHaveLength(1);
    expect(await signer.stderrUntil(/signing in again/)).toContain(
      `your kubeport login to ${w.proxy} expired at ${endedAt}; signing in again.`,
    );
    // Two more runs while the first one's tab is open (kubectl, k9s, Lens): no tab of their own.
    const others = await Promise.all([plugin().done(), plugin().done()]);
    for (const o of others) {
      expect(o.code).toBe(1);
      expect(o.stdout).toBe("");
      expect(o.stderr).toContain("another kubeport is signing in");
      expect(o.stderr).not.toMatch(/\n\s+at /);
    }
    expect(opened()).toHaveLength(1);

    // The person signs in in that one tab; the first run answers kubectl.
    expect((await fetch(await signInAtIssuer(opened()[0]!, "alice"))).status).toBe(200);
    const renewed = await signer.done();
    expect(renewed.stderr).not.toContain("error");
    expect(renewed.code).toBe(0);
    const cred = JSON.parse(renewed.stdout);
    expect(cred.kind).toBe("ExecCredential");
    expect(Date.parse(cred.status.expirationTimestamp)).toBeGreaterThan(Date.now());
    const profile = JSON.parse(readFileSync(profileFile, "utf8"));
    expect(profile.session).not.toBe(ended.session);
    expect(Date.parse(profile.expires)).toBeGreaterThan(Date.now());

    // Later runs use the renewed login: no tab.
    const later = await plugin().done();
    expect(later.code).toBe(0);
    expect(JSON.parse(later.stdout).status.token).toBe(cred.status.token);
    expect(opened()).toHaveLength(1);
  });
});

describe("the console's sign-in with the issuer", () => {
  const cookiesOf = (res: Response) =>
    Object.fromEntries(
      res.headers.getSetCookie().map((c) => {
        const [pair] = c.split(";");
        const i = pair!.indexOf("=");
        return [pair!.slice(0, i), pair!.slice(i + 1)];
      }),
    );
  const cookieHeader = (jar: Record<string, string>) =>
    Object.entries(jar)
      .filter(([, v]) => v !== "")
      .map(([k, v]) => `${k}=${v}`)
      .join("; ");
  /** The gateway's answer to where the issuer sends the browser (public_addr is not where tests reach it). */
  const atGateway = (location: string, jar: Record<string, string>) => {
    const u = new URL(location);
    expect(`${u.origin}${u.pathname}`).toBe(CONSOLE_CALLBACK);
    return w.gw.fetch(u.pathname + u.search, { headers: { cookie: cookieHeader(jar) }, redirect: "manual" });
  };
  const start = async () => {
    const page = await (await w.gw.fetch("/web/login")).text();
    expect(page).toContain("Sign in with Test SSO");
    const res = await w.gw.fetch("/web/login/oidc/0", { redirect: "manual" });
    expect(res.status).toBe(302);
    const jar = cookiesOf(res);
    expect(res.headers.getSetCookie().join("\n")).toMatch(
      /__Host-kubeport_oidc=.*HttpOnly.*Secure.*SameSite=Lax/,
    );
    return { authorize: new URL(res.headers.get("location")!), jar };
  };

  test("signs in: the issuer sends the browser back, the session cookie is set, the clusters show", async () => {
    const { authorize, jar } = await start();
    expect(authorize.searchParams.get("redirect_uri")).toBe(CONSOLE_CALLBACK);
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    const back = await atGateway(await signInAtIssuer(authorize.toString(), "alice"), jar);
    const html = await back.text();
    expect(back.status).toBe(200);
    expect(html).toContain("Signed in as alice@example.com");
    const session = cookiesOf(back)["__Host-kubeport_session"];
    expect(session).toBeTruthy();
    const clusters = await w.gw.fetch("/web/clusters", {
      headers: { cookie: `__Host-kubeport_session=${session}` },
    });
    const page = await clusters.text();
    expect(clusters.status).toBe(200);
    expect(page).toContain("dev-1");
    expect(page).not.toContain("prod-1");
    // The Connect dialog's command for an SSO person: the proxy alone (text without its markup).
    const text = page.replace(/<[^>]+>/g, "");
    expect(text).toContain("kubeport login --proxy=https://localhost:3080");
    expect(text).not.toContain("--auth=local");
  });

  test("a callback with a wrong state is refused: no session, the code never redeemed", async () => {
    const { authorize, jar } = await start();
    const location = new URL(await signInAtIssuer(authorize.toString(), "alice"));
    location.searchParams.set("state", "forged");
    const res = await atGateway(location.toString(), jar);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("state does not match");
    expect(cookiesOf(res)["__Host-kubeport_session"]).toBeUndefined();
    expect(idp.tokenCalls).toEqual([]);
  });

  test("a callback in a browser that started no sign-in is refused", async () => {
    const { authorize } = await start();
    const res = await atGateway(await signInAtIssuer(authorize.toString(), "alice"), {});
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("no sign-in was started in this browser");
    expect(idp.tokenCalls).toEqual([]);
  });

  test("a code issued for another PKCE challenge is refused by the issuer: no session", async () => {
    const { authorize, jar } = await start();
    const before = await sessions();
    const theirs = new URL(authorize);
    theirs.searchParams.set("code_challenge", challengeOf(newVerifier()));
    const res = await atGateway(await signInAtIssuer(theirs.toString(), "alice"), jar);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("PKCE verification failed");
    expect(cookiesOf(res)["__Host-kubeport_session"]).toBeUndefined();
    expect(await sessions()).toBe(before);
  });
});
