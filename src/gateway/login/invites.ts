// One-time links to set a password and TOTP: made by `ctl users add|reset`, used once on the invite page.
import { type Clock, systemClock } from "../../lib/clock.ts";
import { badParameter, KubeportError, notFound } from "../../lib/errors.ts";
import type { Backend, Credential, Invite, User } from "../../registry/index.ts";
import { checkNewPassword, hashPassword } from "./password.ts";
import { digestOf, randomSecret } from "./secrets.ts";
import { acceptTotp } from "./totp.ts";

/** The invite page's path; the link is `https://<public_addr>` + this + the secret. */
export const INVITE_PATH = "/web/invite/";

const KEEP_EXPIRED_MS = 7 * 86_400_000;

export interface IssuedInvite {
  /** The link's secret (never stored). */
  secret: string;
  url: string;
  expires: string;
}

/**
 * Makes an invite for an existing user, valid for `ttlMs`; earlier unused invites of the user are
 * withdrawn (only the newest link works). `publicAddr` is the gateway's host:port.
 */
export async function issueInvite(
  backend: Backend,
  {
    user,
    ttlMs,
    publicAddr,
    reason = "invite",
    clock = systemClock,
  }: { user: string; ttlMs: number; publicAddr: string; reason?: "invite" | "reset"; clock?: Clock },
): Promise<IssuedInvite> {
  const record = (await backend.get("user", user)) as User | undefined;
  if (!record) throw notFound(`user "${user}" not found`);
  const secret = randomSecret();
  const now = clock.now();
  const expires = new Date(now + ttlMs).toISOString();
  const invite: Invite = {
    kind: "invite",
    version: "v1",
    // Kept a week past its end so the page can say "expired"; the registry sweeps it then.
    metadata: { name: digestOf(secret), expires: new Date(now + ttlMs + KEEP_EXPIRED_MS).toISOString() },
    spec: { user, user_created: record.spec.created, created: new Date(now).toISOString(), expires, reason },
  };
  try {
    for (const old of (await backend.list("invite")) as Invite[])
      if (old.spec.user === user) await backend.delete("invite", old.metadata.name);
    await backend.create(invite);
  } catch (err) {
    throw aboutTheLink(err, user);
  }
  return { secret, url: `https://${publicAddr}${INVITE_PATH}${secret}`, expires };
}

/**
 * The registry names an invite by the digest of its secret, which means nothing to the person who
 * ran the command (and `ctl get invite DIGEST` is no check they can act on): name the user's link.
 * The error keeps its kind (an unconfirmed write stays "uncertain") and loses its invite subject.
 */
function aboutTheLink(err: unknown, user: string): unknown {
  if (!(err instanceof KubeportError)) return err;
  const message = err.message.replace(
    /invite "[0-9a-f]{64}"/g,
    `the invite link of user ${JSON.stringify(user)}`,
  );
  return new KubeportError(err.kind, message, { cause: err.cause });
}

/** Why an invite link does not work, in words for the page (nothing else is said about it). */
export type InviteProblem = "unknown" | "expired" | "user-gone";

/** The invite a link's secret opens, or why it opens none. */
export async function findInvite(
  backend: Backend,
  secret: string,
  clock: Clock = systemClock,
): Promise<{ invite: Invite } | { problem: InviteProblem }> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(secret)) return { problem: "unknown" };
  const invite = (await backend.get("invite", digestOf(secret))) as Invite | undefined;
  if (!invite) return { problem: "unknown" };
  const expires = Date.parse(invite.spec.expires);
  if (!(expires > clock.now())) return { problem: "expired" };
  const user = (await backend.get("user", invite.spec.user)) as User | undefined;
  if (!user || user.spec.created !== invite.spec.user_created) return { problem: "user-gone" };
  return { invite };
}

export interface AcceptInviteInput {
  secret: string;
  password: string;
  confirm: string;
  /** The TOTP secret the page showed, and a code from the app that scanned it. */
  totpSecret: string;
  code: string;
}

/**
 * Sets the user's password and TOTP from an invite. Checks everything first (the link, the password
 * rules, the code), then takes the invite (a delete only one request can win: single use), then
 * stores the credential. Throws bad_parameter (what to fix; the link still works) or not_found
 * (the link does not work: nothing changed).
 */
export async function acceptInvite(
  backend: Backend,
  input: AcceptInviteInput,
  clock: Clock = systemClock,
): Promise<{ user: string }> {
  const found = await findInvite(backend, input.secret, clock);
  if ("problem" in found) throw notFound(inviteProblemText(found.problem));
  const { invite } = found;
  checkNewPassword(input.password, input.confirm, invite.spec.user);
  if (!/^[A-Z2-7]{32}$/.test(input.totpSecret)) throw badParameter("the page's TOTP secret was altered");
  const step = acceptTotp(input.totpSecret, input.code, -1, clock.now());
  if (step === undefined)
    throw badParameter(
      "that code is not the authenticator app's current one: check the phone's clock, and that the app scanned this page's code",
    );
  const hash = await hashPassword(input.password);
  if (!(await backend.delete("invite", invite.metadata.name))) throw notFound(inviteProblemText("unknown"));
  const credential: Credential = {
    kind: "credential",
    version: "v1",
    metadata: { name: invite.spec.user },
    spec: {
      password_hash: hash,
      totp_secret: input.totpSecret,
      totp_last_step: step,
      user_created: invite.spec.user_created,
      updated: new Date(clock.now()).toISOString(),
    },
  };
  await backend.put(credential);
  return { user: invite.spec.user };
}

export function inviteProblemText(problem: InviteProblem): string {
  switch (problem) {
    case "expired":
      return "This invite link has expired. Ask your administrator for a new one (kubeport ctl users reset NAME).";
    case "user-gone":
      return "The user this invite link was made for no longer exists. Ask your administrator.";
    default:
      return "This invite link is not valid: it was already used, withdrawn by a newer one, or mistyped. Ask your administrator for a new one (kubeport ctl users reset NAME).";
  }
}
