// Opening a URL in the person's browser ($BROWSER, else xdg-open / open / start), or only printing it.

/** Tries to open `url`; false when no browser could be started (then the URL printed is the way). */
export function openBrowser(url: string, env: Record<string, string | undefined>, browser?: string): boolean {
  if (browser === "none") return false;
  const cmd = browser || env.BROWSER;
  const argv = cmd
    ? [...cmd.split(/\s+/).filter(Boolean), url]
    : process.platform === "darwin"
      ? ["open", url]
      : process.platform === "win32"
        ? ["cmd", "/c", "start", "", url]
        : ["xdg-open", url];
  try {
    const p = Bun.spawn(argv, {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
      env: env as Record<string, string>,
    });
    p.unref();
    return true;
  } catch {
    return false;
  }
}
