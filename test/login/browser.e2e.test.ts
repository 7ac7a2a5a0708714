// The "Done when", in a real browser: a new person given only the gateway's URL and an invite
// link sets a password and an authenticator app in headless Chromium, runs `kubeport login`, uses
// real kubectl on every cluster their roles reach, signs in to the console with the keyboard alone,
// opens a cluster's Connect dialog, finds their kubectl exec in the audit log and plays its
// recording, and every page works at 400 px wide. Screenshots of each page are
// kept in test-artifacts/console/.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { eksCredentials, totpCode } from "../../src/gateway/index.ts";
import { startDevProdSim, startTestGateway, type TestGateway } from "../gateway/fixture.ts";
import { type Browser, chromiumMissing, launchBrowser } from "../helpers/chromium.ts";
import { inviteUser, PASSWORD, type Person, person, roles } from "./harness.ts";

// A browser, subprocesses and kubectl on a machine other tests load too.
setDefaultTimeout(180_000);

const skip = chromiumMissing();
/** RFC 6238 time step of the authenticator codes. */
const TOTP_STEP_MS = 30_000;
const ctx = (cluster: string) => `127.0.0.1-${cluster}`;

describe.skipIf(skip !== undefined)(
  skip ? `the console in headless Chromium (SKIPPED: ${skip})` : "the console in headless Chromium",
  () => {
    let sims: Awaited<ReturnType<typeof startDevProdSim>>;
    let gw: TestGateway;
    let b: Browser;
    let carol: Person;
    let inviteLink: string;
    /** The key the invite page showed, as the person typed it into an authenticator app. */
    let key = "";
    const base = () => gw.gateway.url;

    beforeAll(async () => {
      sims = await startDevProdSim();
      gw = await startTestGateway({
        realAuth: true,
        web: true,
        credentials: eksCredentials(),
        clusters: sims.clusters,
        resources: roles,
      });
      carol = person();
      b = await launchBrowser("console");
      // The admin's part: one command, whose output is the link sent to carol.
      inviteLink = `https://localhost:3080${await inviteUser({ gw }, "carol", "dev,auditor")}`;
    });
    afterAll(async () => {
      await b?.close();
      carol?.remove();
      await gw?.close();
      await sims?.close();
    });

    /** The page's URL at this gateway (links name public_addr; the test reaches the gateway by its port). */
    const at = (link: string) => {
      const u = new URL(link, base());
      return `${base()}${u.pathname}${u.search}`;
    };

    test("the invite link: a password and an authenticator app, set in the browser", async () => {
      const { page } = b;
      await page.goto(at(inviteLink));
      await expect(page.title()).resolves.toBe("Welcome to kubeport · kubeport");
      expect(await page.locator(".qr svg").count()).toBe(1);
      await b.shot("01-invite");
      key = (await page.locator(".secret").innerText()).replace(/\s+/g, "");
      expect(key).toMatch(/^[A-Z2-7]{32}$/);
      await page.getByLabel("New password").fill(PASSWORD);
      await page.getByLabel("Password again").fill(PASSWORD);
      // The app's code of the step before: the terminal and the console sign-ins below use later ones.
      // That code is good only to the end of the current step (one step of drift each way), so start
      // with 20 s of the step left: a page slowed by a loaded machine must not outlive its code.
      const left = TOTP_STEP_MS - (Date.now() % TOTP_STEP_MS);
      if (left < 20_000) await Bun.sleep(left + 50);
      await page.getByLabel("Code the app shows now").fill(totpCode(key, Date.now() - TOTP_STEP_MS));
      await page.getByRole("button", { name: "Set password and authenticator" }).click();
      await page.waitForLoadState();
      expect(await page.locator("h1").innerText()).toBe("You are all set");
      expect(await page.locator("main").innerText()).toContain(
        "kubeport login --proxy=https://localhost:3080 --auth=local --user=carol",
      );
      await b.shot("02-invite-done");
      // The link worked once.
      await page.goto(at(inviteLink));
      expect(await page.locator("h1").innerText()).toBe("Invite link not valid");
      await b.shot("03-invite-used");
    });

    test("kubeport login, then real kubectl on every cluster the roles reach", async () => {
      const proxy = new URL(base()).host;
      const caFile = `${gw.dir}/gateway-ca.pem`;
      await Bun.write(caFile, gw.gateway.caPem!);
      const r = await carol.kubeport(
        ["login", "--proxy", `https://${proxy}`, "--user", "carol", "--ca-file", caFile],
        {
          stdin: `${PASSWORD}\n${totpCode(key)}\n`,
        },
      );
      expect(r.stderr).not.toContain("error");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("2 clusters: dev-a, prod-a");
      for (const [cluster, sim] of [
        ["dev-a", sims.dev],
        ["prod-a", sims.prod],
      ] as const) {
        const k = await carol.kubectl(["--context", ctx(cluster), "get", "pods", "-n", "default"]);
        expect(k.stderr).toBe("");
        expect(k.code).toBe(0);
        expect(k.stdout).toContain("web-0");
        const seen = sim
          .requests()
          .filter((q) => q.path === "/api/v1/namespaces/default/pods")
          .at(-1);
        expect(seen?.user).toBe("carol");
      }
    });

    test("signing in to the console with the keyboard alone", async () => {
      const { page } = b;
      await page.goto(`${base()}/web/`);
      expect(new URL(page.url()).pathname).toBe("/web/login");
      await b.shot("04-login");
      // The user name field has the focus; Tab moves through the form; Enter submits.
      expect(await page.evaluate(() => document.activeElement?.id)).toBe("user");
      await page.keyboard.type("carol");
      await page.keyboard.press("Tab");
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press("Tab");
      await page.keyboard.type(totpCode(key, Date.now() + TOTP_STEP_MS));
      await Promise.all([page.waitForURL("**/web/clusters"), page.keyboard.press("Enter")]);
      expect(await page.locator("h1").innerText()).toBe("Kubernetes clusters");
      const rows = await page.locator("tbody th[scope=row]").allTextContents();
      expect(rows).toEqual(["dev-a", "prod-a"]);
      await b.shot("05-clusters");
    });

    test("a cluster's Connect dialog, opened and closed from the keyboard", async () => {
      const { page } = b;
      // Tab until the Connect button of prod-a has the focus.
      let label = "";
      for (let i = 0; i < 40 && label !== "Connect to prod-a"; i++) {
        await page.keyboard.press("Tab");
        label = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.innerText ?? "");
        label = label.replace(/\s+/g, " ").trim();
      }
      expect(label).toBe("Connect to prod-a");
      await page.keyboard.press("Enter");
      const dialog = page.locator('[role="dialog"]:popover-open');
      await expect(dialog.count()).resolves.toBe(1);
      const text = await dialog.innerText();
      expect(text).toContain("Connect to Kubernetes cluster prod-a");
      expect(text).toContain(`kubeport login --proxy=https://localhost:3080 --auth=local --user=carol`);
      expect(text).toContain("kubeport kube login prod-a");
      await b.shot("06-connect");
      await page.keyboard.press("Escape");
      await expect(page.locator('[role="dialog"]:popover-open').count()).resolves.toBe(0);
    });

    test("the kubeconfig download names the exec plugin and holds no secret", async () => {
      const { page } = b;
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("link", { name: "Download a kubeconfig for all of them" }).click(),
      ]);
      const doc = parse(readFileSync((await download.path())!, "utf8"));
      expect(doc.contexts.map((c: { name: string }) => c.name)).toEqual([
        "localhost-dev-a",
        "localhost-prod-a",
      ]);
      expect(doc.users[0].user.exec.args).toContain("credentials");
      expect(JSON.stringify(doc)).not.toMatch(/token|kps_/);
    });

    test("kubectl exec is recorded; the audit log shows it, filtered from the keyboard", async () => {
      const k = await carol.kubectl([
        "--context",
        ctx("dev-a"),
        "exec",
        "web-0",
        "--",
        "echo",
        "hello-from-carol",
      ]);
      expect(k.stderr).toBe("");
      expect(k.stdout).toBe("hello-from-carol\n");
      const { page } = b;
      await page.getByRole("link", { name: "Audit log" }).click();
      await page.waitForURL("**/web/audit");
      // The type filter, then the search, with the keyboard.
      await page.getByLabel("Type").focus();
      await page.keyboard.press("End");
      await page.getByLabel("Type").selectOption({ label: "session.start (T2000I)" });
      await page.getByLabel("User").focus();
      await page.keyboard.type("carol");
      await Promise.all([page.waitForURL("**/web/audit?**"), page.keyboard.press("Enter")]);
      // Events are written behind the requests: reload until the session's start is there.
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; await page.reload()) {
        if ((await page.locator("tbody tr").count()) > 0) break;
        await Bun.sleep(200);
      }
      const row = page.locator("tbody tr").first();
      expect(await row.innerText()).toContain("web-0 echo hello-from-carol");
      await b.shot("08-audit-log");
    });

    test("the recording plays in the browser, started from the keyboard", async () => {
      const { page } = b;
      await page.getByRole("link", { name: "Recordings" }).click();
      await page.waitForURL("**/web/recordings");
      // The recording has an end once the session's last chunk is written.
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; await page.reload()) {
        const t = await page
          .locator("tbody")
          .innerText()
          .catch(() => "");
        if (t.includes("hello-from-carol") && !t.includes("no end recorded")) break;
        await Bun.sleep(200);
      }
      await b.shot("09-recordings");
      await page.getByRole("link", { name: /^Play the session of carol/ }).focus();
      await Promise.all([page.waitForURL("**/web/recordings/*"), page.keyboard.press("Enter")]);
      // The page's own Play button: enabled once play.js has started the player.
      const play = page.locator("button[data-player-toggle]:not([disabled])");
      await play.waitFor({ timeout: 30_000 });
      expect(await play.innerText()).toBe("Play");
      await play.focus();
      await page.keyboard.press("Enter");
      // The terminal shows what the pod printed.
      await page.waitForFunction(
        () => document.querySelector(".ap-term-text")?.textContent?.includes("hello-from-carol"),
        undefined,
        { timeout: 30_000 },
      );
      await page.waitForFunction(
        () => document.querySelector("button[data-player-toggle]")?.textContent === "Play again",
        undefined,
        { timeout: 30_000 },
      );
      await b.shot("10-player");
    });

    test("every page at 400 px wide: nothing wider than the screen", async () => {
      const { page } = b;
      await page.setViewportSize({ width: 400, height: 860 });
      const fits = async (name: string) => {
        await b.shot(name);
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        expect({ page: name, width }).toEqual({ page: name, width: 400 });
      };
      await page.goto(`${base()}/web/audit?user=carol`);
      await fits("11-audit-log-400px");
      await page.goto(`${base()}/web/recordings`);
      await fits("12-recordings-400px");
      await page.getByRole("link", { name: /^Play the session of carol/ }).click();
      await page.waitForSelector(".ap-term-text");
      await fits("13-player-400px");
      await page.goto(`${base()}/web/clusters`);
      await fits("14-clusters-400px");
      await page.getByRole("button", { name: "Connect to dev-a" }).click();
      const box = await page.locator('[role="dialog"]:popover-open').boundingBox();
      expect(box!.x).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width).toBeLessThanOrEqual(400);
      await fits("15-connect-400px");
      await page.keyboard.press("Escape");
      // Signed out (the form in the header), then the sign-in page.
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.waitForURL("**/web/login");
      await fits("16-login-400px");
      await page.goto(at(inviteLink));
      await fits("17-invite-used-400px");
      await page.goto(at(`https://localhost:3080${await inviteUser({ gw }, "dave", "dev")}`));
      await fits("18-invite-400px");
    });

    test("no page broke its Content-Security-Policy or threw", () => {
      expect(b.problems).toEqual([]);
    });
  },
);
