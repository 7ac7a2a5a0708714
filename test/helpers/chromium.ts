// Headless Chromium (Debian's package) driven by Playwright's library, for tests of the web console
// in a real browser. Installed with apt-get when missing and running as root (CI), else the tests
// say why they skip. Screenshots go to test-artifacts/ (gitignored), kept for people to look at.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
/** Where screenshots are kept (gitignored). */
export const ARTIFACTS = resolve(import.meta.dir, "../../test-artifacts");

/** Undefined when Chromium is there (installing it first when root); else why the browser tests skip. */
export function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  if (process.getuid?.() === 0) {
    Bun.spawnSync(
      ["sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium"],
      { stdout: "inherit", stderr: "inherit" },
    );
    if (existsSync(CHROMIUM)) return undefined;
    return `${CHROMIUM} is missing and apt-get install chromium failed`;
  }
  return `${CHROMIUM} is missing and this is not root, so it cannot be installed here (Debian: apt-get install chromium; CI runs as root and installs it)`;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Problems the page reported (CSP violations, script errors, failed loads): a page must have none. */
  problems: string[];
  /** A full-page screenshot as test-artifacts/<dir>/<name>.png. */
  shot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** A fresh headless Chromium (its own --user-data-dir) with one page; certificates of the test CA accepted. */
export async function launchBrowser(dir: string): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "kubeport-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    timeout: 60_000,
  });
  context.setDefaultTimeout(30_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on("console", (m) => {
    // A page answered 404/410 on purpose logs "Failed to load resource"; resources are checked below.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource"))
      problems.push(`console: ${m.text()}`);
  });
  page.on("response", (r) => {
    if (r.request().resourceType() !== "document" && r.status() >= 400)
      problems.push(`${r.status()} for ${r.url()}`);
  });
  page.on("requestfailed", (r) => {
    // A download leaves the page without loading it: not a failure.
    if (r.failure()?.errorText !== "net::ERR_ABORTED")
      problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on("pageerror", (e) => problems.push(`script: ${e.message}`));
  const out = join(ARTIFACTS, dir);
  mkdirSync(out, { recursive: true });
  return {
    context,
    page,
    problems,
    async shot(name) {
      const path = join(out, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
