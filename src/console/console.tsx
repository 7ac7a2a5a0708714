/** @jsxImportSource hono/jsx */
// The web console: Hono server-rendered pages at /web, behind the gateway's own login sessions.
// Pages: sign-in (password + TOTP, "Sign in with <issuer>"), invites, clusters with a Connect
// dialog, kubeconfig download, session recordings (one's own; everyone's and the audit log for
// auditors: review-routes.tsx).
import { type Context, Hono } from "hono";
import { getCookie } from "hono/cookie";
import { renderSVG } from "uqr";
import { stringify } from "yaml";
import {
  acceptInvite,
  BAD_CREDENTIALS,
  clientAddress,
  displayName,
  findInvite,
  type GatewayEnv,
  type Identity,
  inviteProblemText,
  LockedOut,
  MIN_PASSWORD_LENGTH,
  newTotpSecret,
  totpUri,
  type WebDeps,
} from "../gateway/index.ts";
import { readBoundedBody } from "../lib/bounded-body.ts";
import { BodyTooLarge, describeError, isKind } from "../lib/errors.ts";
import { execKubeconfig } from "../lib/kubeconfig.ts";
import type { Invite, LoginSession } from "../registry/index.ts";
import { assetRoutes } from "./assets.ts";
import { MessagePage, type Viewer } from "./layout.tsx";
import { CallbackRefused, finishOidcSignIn, startOidcSignIn } from "./oidc-signin.ts";
import { ClustersPage } from "./pages/clusters.tsx";
import { InvitePage } from "./pages/invite.tsx";
import { LoginPage } from "./pages/login.tsx";
import { addReviewRoutes } from "./review-routes.tsx";
import {
  clearCookie,
  csrfMatches,
  PRESESSION_COOKIE,
  preSessionCsrf,
  SESSION_COOKIE,
  securityHeaders,
  sessionCsrf,
  setSessionCookie,
} from "./security.ts";

/** Forms are a few hundred bytes; a bigger body is refused unread. */
const MAX_FORM_BYTES = 16 * 1024;

/** Per request: who is signed in (set by the session middleware). */
export type ConsoleEnv = GatewayEnv & {
  Variables: { viewer?: Viewer; identity?: Identity; session?: LoginSession; secret?: string };
};

/** A form's string fields, its body read through the bounded reader (BodyTooLarge → 413 page). */
async function formOf(c: Context): Promise<Record<string, string>> {
  const bytes = await readBoundedBody(c.req.raw, MAX_FORM_BYTES, "the most a console form may send");
  const type = c.req.header("content-type") ?? "application/x-www-form-urlencoded";
  let form: FormData;
  try {
    form = await new Response(bytes, { headers: { "content-type": type } }).formData();
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of form) if (typeof v === "string") out[k] = v;
  return out;
}

/** A redirect target inside the console only (never another site). */
const safeNext = (next: string | undefined) =>
  next && /^\/web\/[A-Za-z0-9/_?=&%.-]*$/.test(next) && !next.startsWith("//") ? next : "/web/clusters";

export function createConsole(deps: WebDeps): Hono<GatewayEnv> {
  const { config, login, log } = deps;
  const publicAddr = config.proxy_service.public_addr;
  const issuers = config.proxy_service.oidc;
  const app = new Hono<ConsoleEnv>();

  app.use("*", async (c, next) => {
    await next();
    securityHeaders(c);
  });
  app.route("/assets", assetRoutes());

  // Who is signed in: the session cookie, checked against the registry (signed out everywhere at once).
  app.use("*", async (c, next) => {
    const secret = getCookie(c, SESSION_COOKIE);
    const s = secret ? await login.session(secret) : undefined;
    if (s && secret) {
      c.set("identity", s.identity);
      c.set("session", s.session);
      c.set("secret", secret);
      c.set("viewer", {
        user: s.identity.user,
        // The recordings API's rule (deny wins, a broken role fails closed).
        auditor: deps.authorizer.mayReviewRecordings?.(s.identity) === true,
        csrf: sessionCsrf(secret),
      });
    }
    await next();
  });

  /** Signed-in pages: others go to the sign-in page and come back. */
  const signedIn = async (c: Context<ConsoleEnv>, next: () => Promise<void>) => {
    if (!c.get("viewer")) return c.redirect(`/web/login?next=${encodeURIComponent(c.req.path)}`, 303);
    await next();
  };
  /** Signed-in forms: the session's CSRF token must come back. */
  const checkCsrf = async (c: Context<ConsoleEnv>) => {
    const form = await formOf(c);
    const secret = c.get("secret");
    return secret && csrfMatches(form.csrf, sessionCsrf(secret)) ? form : undefined;
  };

  const issuerList = issuers.map((o, index) => ({ index, name: displayName(o) }));
  const loginPage = (
    c: Context<ConsoleEnv>,
    status: 200 | 400 | 401 | 403 | 429,
    error?: string,
    user?: string,
    next?: string,
  ) =>
    c.html(
      <LoginPage
        csrf={preSessionCsrf(c)}
        issuers={issuerList}
        {...(error ? { error } : {})}
        {...(user ? { user } : {})}
        next={next ?? ""}
      />,
      status,
    );

  app.get("/", (c) => c.redirect(c.get("viewer") ? "/web/clusters" : "/web/login", 303));

  app.get("/login", (c) => {
    if (c.get("viewer")) return c.redirect("/web/clusters", 303);
    return loginPage(c, 200, undefined, undefined, c.req.query("next"));
  });

  app.post("/login", async (c) => {
    const form = await formOf(c);
    if (!csrfMatches(form.csrf, getCookie(c, PRESESSION_COOKIE)))
      return loginPage(c, 403, "The form expired (or came from another site). Sign in again.");
    try {
      const signed = await login.passwordLogin({
        user: (form.user ?? "").trim(),
        password: form.password ?? "",
        code: form.code ?? "",
        address: clientAddress(c.req.raw, c.env?.server),
        client: "web",
      });
      setSessionCookie(c, signed.secret, (signed.expiresAt - Date.now()) / 1000);
      clearCookie(c, PRESESSION_COOKIE);
      return c.redirect(safeNext(form.next), 303);
    } catch (err) {
      if (err instanceof LockedOut) return loginPage(c, 429, err.message, form.user, form.next);
      if (isKind(err, "unauthenticated"))
        return loginPage(c, 401, `Sign-in failed: ${BAD_CREDENTIALS}.`, form.user, form.next);
      log.warn({ err: describeError(err) }, "console sign-in failed");
      return loginPage(c, 401, "Sign-in failed: the gateway could not check it now. Try again.", form.user);
    }
  });

  app.get("/login/oidc/:index", async (c) => {
    const cfg = issuers[Number(c.req.param("index"))];
    if (!cfg)
      return c.html(<MessagePage title="Unknown sign-in" message="No such issuer is configured." />, 404);
    try {
      return c.redirect(await startOidcSignIn(c, cfg, publicAddr), 302);
    } catch (err) {
      log.warn({ err: describeError(err), issuer: cfg.issuer_url }, "console OIDC sign-in could not start");
      return c.html(
        <MessagePage
          title="Sign-in unavailable"
          message={`${displayName(cfg)} cannot be reached now: ${describeError(err)}`}
        />,
        502,
      );
    }
  });

  app.get("/oidc/callback", async (c) => {
    try {
      const { idToken, nonce } = await finishOidcSignIn(c, issuers, publicAddr);
      const signed = await login.oidcLogin({ idToken, nonce, client: "web" });
      setSessionCookie(c, signed.secret, (signed.expiresAt - Date.now()) / 1000);
      // A page, not a redirect: after the issuer's cross-site redirect a Strict cookie would not go along.
      return c.html(
        <MessagePage
          title="Signed in"
          message={`Signed in as ${signed.identity.user}.`}
          link={{ href: "/web/clusters", text: "Continue to your clusters" }}
          refresh="/web/clusters"
        />,
      );
    } catch (err) {
      const message =
        err instanceof CallbackRefused || isKind(err, "unauthenticated")
          ? (err as Error).message
          : `the sign-in could not be completed (${describeError(err)})`;
      log.info({ err: describeError(err) }, "console OIDC callback refused");
      return c.html(<MessagePage title="Sign-in refused" message={`Sign-in refused: ${message}`} />, 400);
    }
  });

  app.post("/logout", async (c) => {
    const form = await checkCsrf(c);
    if (form) await login.logout(c.get("secret"));
    clearCookie(c, SESSION_COOKIE);
    return c.redirect("/web/login", 303);
  });

  app.get("/clusters", signedIn, (c) => {
    const identity = c.get("identity")!;
    const health = new Map(deps.clusterStatus().map((h) => [h.name, h]));
    const proxy = `https://${publicAddr}`;
    return c.html(
      <ClustersPage
        viewer={c.get("viewer")!}
        clusters={login.clusters(identity).map((k) => ({
          name: k.metadata.name,
          labels: k.metadata.labels ?? {},
          ...(health.get(k.metadata.name) ? { health: health.get(k.metadata.name)! } : {}),
        }))}
        connect={{
          loginCommand:
            identity.source === "oidc"
              ? `kubeport login --proxy=${proxy}`
              : `kubeport login --proxy=${proxy} --auth=local --user=${identity.user}`,
        }}
      />,
    );
  });

  app.get("/kubeconfig", signedIn, (c) => {
    const identity = c.get("identity")!;
    const only = c.req.query("cluster");
    const names = login
      .clusters(identity)
      .map((k) => k.metadata.name)
      .filter((n) => !only || n === only);
    if (names.length === 0) return c.text("no such cluster for you", 404);
    const doc = execKubeconfig({
      proxy: publicAddr,
      clusters: names,
      self: { command: "kubeport", args: [] },
    });
    return c.body(stringify(doc), 200, {
      "content-type": "application/yaml; charset=utf-8",
      "content-disposition": `attachment; filename="kubeconfig-${publicAddr.replace(/[^A-Za-z0-9.-]/g, "_")}.yaml"`,
    });
  });

  // Invites: a link that does not work says why and changes nothing.
  const invitePage = (
    c: Context<ConsoleEnv>,
    invite: Invite,
    totpSecret: string,
    status: 200 | 400 = 200,
    error?: string,
  ) => {
    const uri = totpUri(totpSecret, invite.spec.user, `kubeport ${publicAddr.replace(/:\d+$/, "")}`);
    return c.html(
      <InvitePage
        user={invite.spec.user}
        reason={invite.spec.reason}
        expires={invite.spec.expires}
        csrf={preSessionCsrf(c)}
        totpSecret={totpSecret}
        qrSvg={renderSVG(uri, { border: 1 })}
        otpauthUri={uri}
        minLength={MIN_PASSWORD_LENGTH}
        {...(error ? { error } : {})}
      />,
      status,
    );
  };
  const inviteGone = (c: Context<ConsoleEnv>, message: string) =>
    c.html(<MessagePage title="Invite link not valid" message={message} />, 410);

  app.get("/invite/:secret", async (c) => {
    const found = await findInvite(deps.backend, c.req.param("secret"));
    if ("problem" in found) return inviteGone(c, inviteProblemText(found.problem));
    return invitePage(c, found.invite, newTotpSecret());
  });

  app.post("/invite/:secret", async (c) => {
    const secret = c.req.param("secret");
    const form = await formOf(c);
    const found = await findInvite(deps.backend, secret);
    if ("problem" in found) return inviteGone(c, inviteProblemText(found.problem));
    const totpSecret = /^[A-Z2-7]{32}$/.test(form.totp_secret ?? "") ? form.totp_secret! : newTotpSecret();
    if (!csrfMatches(form.csrf, getCookie(c, PRESESSION_COOKIE)))
      return invitePage(
        c,
        found.invite,
        totpSecret,
        400,
        "The form expired (or came from another site). Fill it in again.",
      );
    try {
      const { user } = await acceptInvite(deps.backend, {
        secret,
        password: form.password ?? "",
        confirm: form.confirm ?? "",
        totpSecret,
        code: form.code ?? "",
      });
      return c.html(
        <MessagePage
          title="You are all set"
          message={`The password and authenticator app of ${user} are set. Sign in here, or from a terminal: kubeport login --proxy=https://${publicAddr} --auth=local --user=${user}`}
          link={{ href: "/web/login", text: "Sign in" }}
        />,
      );
    } catch (err) {
      if (isKind(err, "not_found")) return inviteGone(c, (err as Error).message);
      if (isKind(err, "bad_parameter"))
        return invitePage(c, found.invite, totpSecret, 400, (err as Error).message);
      throw err;
    }
  });

  addReviewRoutes(app, deps, signedIn);

  app.notFound((c) =>
    c.html(<MessagePage title="Not found" message="There is no such page." viewer={c.get("viewer")} />, 404),
  );
  app.onError((err, c) => {
    if (err instanceof BodyTooLarge)
      return c.html(
        <MessagePage title="Form too large" message={err.message} viewer={c.get("viewer")} />,
        413,
      );
    log.warn({ err: describeError(err), path: c.req.path }, "console page failed");
    return c.html(
      <MessagePage title="Something went wrong" message="The page could not be shown. Try again." />,
      500,
    );
  });
  // Mounted as the gateway's own env: the console's per-request variables stay inside it.
  return new Hono<GatewayEnv>().route("/", app);
}
