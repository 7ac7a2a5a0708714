/** @jsxImportSource hono/jsx */
// The page shell every console page shares: header, navigation, sign-out, the stylesheet.
import type { Child } from "hono/jsx";

export interface Viewer {
  user: string;
  /** May see the audit log and everyone's recordings (review_recordings); else only one's own recordings. */
  auditor: boolean;
  /** The signed-in form token. */
  csrf: string;
}

export type Section = "clusters" | "audit" | "recordings" | "none";

export function Page({
  title,
  viewer,
  section = "none",
  scripts = [],
  styles = [],
  refresh,
  children,
}: {
  /** Navigate here at once (a same-site step after a cross-site redirect, so SameSite=Strict cookies go along). */
  refresh?: string;
  title: string;
  viewer?: Viewer;
  section?: Section;
  scripts?: string[];
  styles?: string[];
  children: Child;
}) {
  const current = (s: Section) => (s === section ? { "aria-current": "page" as const } : {});
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · kubeport`}</title>
        {refresh ? <meta http-equiv="refresh" content={`0;url=${refresh}`} /> : null}
        <link rel="stylesheet" href="/web/assets/console.css" />
        {styles.map((s) => (
          <link rel="stylesheet" href={s} />
        ))}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/web">
            kubeport
          </a>
          {viewer ? (
            <nav aria-label="Main">
              <a href="/web/clusters" {...current("clusters")}>
                Clusters
              </a>
              {viewer.auditor ? (
                <a href="/web/audit" {...current("audit")}>
                  Audit log
                </a>
              ) : null}
              <a href="/web/recordings" {...current("recordings")}>
                Recordings
              </a>
              <span class="who">{viewer.user}</span>
              <form method="post" action="/web/logout">
                <input type="hidden" name="csrf" value={viewer.csrf} />
                <button class="link" type="submit">
                  Sign out
                </button>
              </form>
            </nav>
          ) : null}
        </header>
        <main id="main">{children}</main>
        {scripts.map((s) => (
          <script src={s} defer />
        ))}
      </body>
    </html>
  );
}

/** A page that says one thing (an invite that does not work, a refused callback) and where to go. */
export function MessagePage({
  title,
  message,
  link = { href: "/web/login", text: "Go to the sign-in page" },
  viewer,
  refresh,
}: {
  title: string;
  message: string;
  link?: { href: string; text: string };
  viewer?: Viewer;
  refresh?: string;
}) {
  return (
    <Page title={title} viewer={viewer} refresh={refresh}>
      <div class="card narrow">
        <h1>{title}</h1>
        <p role="alert">{message}</p>
        <p>
          <a href={link.href}>{link.text}</a>
        </p>
      </div>
    </Page>
  );
}

/** A shell command in a block: it wraps between arguments only, so each stays whole for copying. */
export function Command({ text }: { text: string }) {
  const args = text.split(" ");
  return (
    <pre>
      <code>
        {args.map((a, i) => (
          <>
            <span class="arg">{a}</span>
            {i < args.length - 1 ? " " : ""}
          </>
        ))}
      </code>
    </pre>
  );
}
