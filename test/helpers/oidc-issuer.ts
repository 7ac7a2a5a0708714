// A real OAuth 2.0 / OIDC issuer for tests, on 127.0.0.1:0: discovery, JWKS, the authorization
// endpoint (Authorization Code + PKCE S256, RFC 7636), the token endpoint (code and device grants)
// and the device authorization endpoint (RFC 8628) with its verification page. It checks what a
// strict issuer checks (client, redirect URI, PKCE verifier, single-use codes, polling interval)
// and records what clients sent, so tests assert the client's behaviour, not only its outcome.
import { createHash, randomBytes } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

export interface IssuerPerson {
  sub: string;
  email: string;
  groups?: string[];
  name?: string;
}

export interface DevicePoll {
  /** ms since the epoch the poll arrived. */
  at: number;
  /** What the issuer answered: "tokens" or an error code. */
  answer: string;
}

export interface TokenCall {
  grant_type: string;
  /** "tokens" or the error code answered. */
  answer: string;
}

export interface OidcIssuer {
  issuerUrl: string;
  clientId: string;
  /** People who can sign in, by name (what the sign-in form takes). */
  people: Record<string, IssuerPerson>;
  /**
   * The person this issuer's browser session belongs to: /authorize sends the browser straight back
   * with a code (an IdP where one is already signed in). Unset: /authorize shows a sign-in form.
   */
  signedIn: string | undefined;
  /** Device grant settings for the next device authorizations: seconds. */
  device: { interval: number; expiresIn: number; slowDownOnce: boolean };
  /** Every poll of a device code, in order. */
  polls: DevicePoll[];
  /** Every token-endpoint call, in order. */
  tokenCalls: TokenCall[];
  /** The device authorizations handed out, newest last. */
  devices(): { user_code: string; device_code: string; interval: number }[];
  /** Approves (or, with `deny`, refuses) a user code on the verification page, as a person would. */
  decideDevice(userCode: string, person: string, deny?: boolean): Promise<Response>;
  stop(): void;
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce?: string;
  person: string;
  expires: number;
}

interface DeviceState {
  deviceCode: string;
  userCode: string;
  clientId: string;
  scope: string;
  expires: number;
  intervalS: number;
  lastPoll?: number;
  slowDownOnce: boolean;
  decision?: { person: string } | "denied";
  used: boolean;
}

const html = (body: string, status = 200) =>
  new Response(
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Test issuer</title></head><body>${body}</body></html>`,
    {
      status,
      headers: { "content-type": "text/html; charset=utf-8" },
    },
  );
const oauthError = (error: string, description: string, status = 400) =>
  Response.json({ error, error_description: description }, { status });
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** S256 (RFC 7636 §4.2). */
const s256 = (verifier: string) => createHash("sha256").update(verifier, "ascii").digest("base64url");

/** `http://127.0.0.1:<any port>/callback` (RFC 8252 §7.3: loopback, any port) or an exact registered URI. */
function redirectAllowed(uri: string, registered: readonly string[]): boolean {
  if (registered.includes(uri)) return true;
  try {
    const u = new URL(uri);
    return u.protocol === "http:" && u.hostname === "127.0.0.1" && u.pathname === "/callback" && !u.search;
  } catch {
    return false;
  }
}

export async function startOidcIssuer(
  opts: {
    clientId?: string;
    people?: Record<string, IssuerPerson>;
    /** Exact redirect URIs besides the loopback ones (the console's). */
    redirectUris?: string[];
  } = {},
): Promise<OidcIssuer> {
  const clientId = opts.clientId ?? "kubeport";
  const registered = opts.redirectUris ?? [];
  const pair = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "issuer-1", alg: "RS256", use: "sig" };
  const codes = new Map<string, PendingCode>();
  const pendingAuth = new Map<string, URLSearchParams>();
  const deviceStates = new Map<string, DeviceState>();
  let issuerUrl = "";

  const idToken = (person: IssuerPerson, audience: string, nonce?: string) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      email: person.email,
      email_verified: true,
      ...(person.groups ? { groups: person.groups } : {}),
      ...(person.name ? { name: person.name } : {}),
      ...(nonce ? { nonce } : {}),
    })
      .setProtectedHeader({ alg: "RS256", kid: "issuer-1" })
      .setIssuer(issuerUrl)
      .setAudience(audience)
      .setSubject(person.sub)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(pair.privateKey);
  };

  /** Validates an authorization request; a Response when it is refused (RFC 6749 §4.1.2.1). */
  const checkAuthorize = (q: URLSearchParams): Response | undefined => {
    const redirectUri = q.get("redirect_uri") ?? "";
    // Unknown client or redirect URI: never redirect (an open redirector otherwise).
    if (q.get("client_id") !== clientId) return html("<h1>Unknown client</h1>", 400);
    if (!redirectAllowed(redirectUri, registered)) return html("<h1>Redirect URI not registered</h1>", 400);
    const back = (error: string, description: string) => {
      const u = new URL(redirectUri);
      u.searchParams.set("error", error);
      u.searchParams.set("error_description", description);
      if (q.get("state")) u.searchParams.set("state", q.get("state")!);
      return Response.redirect(u.toString(), 302);
    };
    if (q.get("response_type") !== "code") return back("unsupported_response_type", "only code");
    if (!q.get("code_challenge") || q.get("code_challenge_method") !== "S256")
      return back("invalid_request", "PKCE with S256 is required");
    if (!(q.get("scope") ?? "").split(" ").includes("openid"))
      return back("invalid_scope", "openid is required");
    return undefined;
  };

  /** Sends the browser back to the client with a fresh code for `person`. */
  const issueCode = (q: URLSearchParams, person: string) => {
    const code = randomBytes(24).toString("base64url");
    codes.set(code, {
      clientId,
      redirectUri: q.get("redirect_uri")!,
      challenge: q.get("code_challenge")!,
      ...(q.get("nonce") ? { nonce: q.get("nonce")! } : {}),
      person,
      expires: Date.now() + 60_000,
    });
    const u = new URL(q.get("redirect_uri")!);
    u.searchParams.set("code", code);
    if (q.get("state") !== null) u.searchParams.set("state", q.get("state")!);
    return Response.redirect(u.toString(), 302);
  };

  const issuer: OidcIssuer = {
    issuerUrl: "",
    clientId,
    people: opts.people ?? {
      alice: { sub: "u-alice", email: "alice@example.com", groups: ["engineers"] },
    },
    signedIn: undefined,
    device: { interval: 1, expiresIn: 120, slowDownOnce: false },
    polls: [],
    tokenCalls: [],
    devices: () =>
      [...deviceStates.values()].map((d) => ({
        user_code: d.userCode,
        device_code: d.deviceCode,
        interval: d.intervalS,
      })),
    async decideDevice(userCode, person, deny = false) {
      return fetch(`${issuerUrl}/device`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ user_code: userCode, person, decision: deny ? "deny" : "approve" }),
      });
    },
    stop: () => server.stop(true),
  };

  const tokenEndpoint = async (req: Request): Promise<Response> => {
    const form = new URLSearchParams(await req.text());
    const grant = form.get("grant_type") ?? "";
    const answer = (r: Response, what: string) => {
      issuer.tokenCalls.push({ grant_type: grant, answer: what });
      return r;
    };
    const fail = (error: string, description: string) => answer(oauthError(error, description), error);
    if (form.get("client_id") !== clientId) return fail("invalid_client", "unknown client");
    if (grant === "authorization_code") {
      const code = form.get("code") ?? "";
      const pending = codes.get(code);
      // A code is good once (RFC 6749 §4.1.2), whatever the outcome.
      codes.delete(code);
      if (!pending || pending.expires < Date.now()) return fail("invalid_grant", "unknown or used code");
      if (form.get("redirect_uri") !== pending.redirectUri)
        return fail("invalid_grant", "redirect_uri differs from the authorization request's");
      const verifier = form.get("code_verifier") ?? "";
      // RFC 7636 §4.1: 43-128 characters of the unreserved set.
      if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || s256(verifier) !== pending.challenge)
        return fail("invalid_grant", "PKCE verification failed");
      const person = issuer.people[pending.person]!;
      return answer(
        Response.json({
          access_token: randomBytes(16).toString("hex"),
          token_type: "Bearer",
          expires_in: 3600,
          id_token: await idToken(person, clientId, pending.nonce),
        }),
        "tokens",
      );
    }
    if (grant === "urn:ietf:params:oauth:grant-type:device_code") {
      const d = deviceStates.get(form.get("device_code") ?? "");
      if (!d || d.used) return fail("invalid_grant", "unknown device code");
      const now = Date.now();
      const poll = (what: string) => {
        issuer.polls.push({ at: now, answer: what });
        return what;
      };
      if (now > d.expires)
        return answer(oauthError(poll("expired_token"), "the device code expired"), "expired_token");
      // §3.5: polling faster than the interval is answered slow_down, and the interval grows 5 s.
      const early = d.lastPoll !== undefined && now - d.lastPoll < d.intervalS * 1000;
      d.lastPoll = now;
      if (early || d.slowDownOnce) {
        d.slowDownOnce = false;
        d.intervalS += 5;
        return answer(oauthError(poll("slow_down"), "polling too fast"), "slow_down");
      }
      if (d.decision === "denied")
        return answer(oauthError(poll("access_denied"), "refused"), "access_denied");
      if (!d.decision)
        return answer(oauthError(poll("authorization_pending"), "not yet approved"), "authorization_pending");
      d.used = true;
      poll("tokens");
      const person = issuer.people[d.decision.person]!;
      return answer(
        Response.json({
          access_token: randomBytes(16).toString("hex"),
          token_type: "Bearer",
          expires_in: 3600,
          id_token: await idToken(person, clientId),
        }),
        "tokens",
      );
    }
    return fail("unsupported_grant_type", grant);
  };

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const u = new URL(req.url);
      switch (`${req.method} ${u.pathname}`) {
        case "GET /.well-known/openid-configuration":
          return Response.json({
            issuer: issuerUrl,
            jwks_uri: `${issuerUrl}/keys`,
            authorization_endpoint: `${issuerUrl}/authorize`,
            token_endpoint: `${issuerUrl}/token`,
            device_authorization_endpoint: `${issuerUrl}/device/code`,
            response_types_supported: ["code"],
            code_challenge_methods_supported: ["S256"],
            grant_types_supported: ["authorization_code", "urn:ietf:params:oauth:grant-type:device_code"],
          });
        case "GET /keys":
          return Response.json({ keys: [jwk] });
        case "GET /authorize": {
          const refused = checkAuthorize(u.searchParams);
          if (refused) return refused;
          if (issuer.signedIn) return issueCode(u.searchParams, issuer.signedIn);
          const id = randomBytes(12).toString("base64url");
          pendingAuth.set(id, u.searchParams);
          return html(
            `<h1>Sign in to the test issuer</h1><form method="post" action="/authorize"><input type="hidden" name="request" value="${id}"><label>User <input name="person" autocomplete="username"></label> <button type="submit">Sign in</button></form>`,
          );
        }
        case "POST /authorize": {
          const form = new URLSearchParams(await req.text());
          const q = pendingAuth.get(form.get("request") ?? "");
          pendingAuth.delete(form.get("request") ?? "");
          const person = form.get("person") ?? "";
          if (!q) return html("<h1>No such sign-in</h1>", 400);
          if (!issuer.people[person]) return html(`<h1>No such person: ${escapeHtml(person)}</h1>`, 401);
          return issueCode(q, person);
        }
        case "POST /token":
          return tokenEndpoint(req);
        case "POST /device/code": {
          const form = new URLSearchParams(await req.text());
          if (form.get("client_id") !== clientId) return oauthError("invalid_client", "unknown client");
          const d: DeviceState = {
            deviceCode: randomBytes(24).toString("base64url"),
            userCode: `${randomBytes(2).toString("hex")}-${randomBytes(2).toString("hex")}`.toUpperCase(),
            clientId,
            scope: form.get("scope") ?? "",
            expires: Date.now() + issuer.device.expiresIn * 1000,
            intervalS: issuer.device.interval,
            slowDownOnce: issuer.device.slowDownOnce,
            used: false,
          };
          deviceStates.set(d.deviceCode, d);
          return Response.json({
            device_code: d.deviceCode,
            user_code: d.userCode,
            verification_uri: `${issuerUrl}/device`,
            verification_uri_complete: `${issuerUrl}/device?user_code=${d.userCode}`,
            expires_in: issuer.device.expiresIn,
            interval: d.intervalS,
          });
        }
        case "GET /device":
          return html(
            `<h1>Enter the code</h1><form method="post" action="/device"><input name="user_code" value="${escapeHtml(u.searchParams.get("user_code") ?? "")}"><input name="person"><button name="decision" value="approve">Approve</button><button name="decision" value="deny">Deny</button></form>`,
          );
        case "POST /device": {
          const form = new URLSearchParams(await req.text());
          const d = [...deviceStates.values()].find((x) => x.userCode === form.get("user_code"));
          if (!d || d.expires < Date.now()) return html("<h1>Unknown or expired code</h1>", 400);
          const person = form.get("person") ?? "";
          if (form.get("decision") === "deny") d.decision = "denied";
          else if (issuer.people[person]) d.decision = { person };
          else return html("<h1>No such person</h1>", 401);
          return html("<h1>Done. Return to your device.</h1>");
        }
      }
      return new Response("not found", { status: 404 });
    },
  });
  issuerUrl = `http://127.0.0.1:${server.port}`;
  issuer.issuerUrl = issuerUrl;
  return issuer;
}
