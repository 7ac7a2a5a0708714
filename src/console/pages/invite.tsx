/** @jsxImportSource hono/jsx */
// The invite page: a new person (or one whose access was reset) sets a password and an authenticator app.
import { raw } from "hono/html";
import { Page } from "../layout.tsx";

export function InvitePage({
  user,
  reason,
  expires,
  csrf,
  totpSecret,
  qrSvg,
  otpauthUri,
  error,
  minLength,
}: {
  user: string;
  reason: "invite" | "reset";
  expires: string;
  csrf: string;
  totpSecret: string;
  qrSvg: string;
  otpauthUri: string;
  error?: string;
  minLength: number;
}) {
  return (
    <Page title={reason === "reset" ? "Reset your access" : "Welcome to kubeport"}>
      <div class="card narrow">
        <h1>{reason === "reset" ? `Reset access for ${user}` : `Welcome, ${user}`}</h1>
        <p>
          Choose a password and add kubeport to an authenticator app. This link works once, until{" "}
          <time datetime={expires}>{expires.replace("T", " ").replace(/\.\d+Z$/, " UTC")}</time>.
        </p>
        {error ? (
          <p class="error" role="alert" id="invite-error">
            {error}
          </p>
        ) : null}
        <form method="post" aria-describedby={error ? "invite-error" : undefined}>
          <input type="hidden" name="csrf" value={csrf} />
          <input type="hidden" name="totp_secret" value={totpSecret} />
          <label for="password">New password</label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="new-password"
            minlength={minLength}
            required
            autofocus
          />
          <p class="hint">At least {minLength} characters.</p>
          <label for="confirm">Password again</label>
          <input id="confirm" name="confirm" type="password" autocomplete="new-password" required />
          <h2>Authenticator app</h2>
          <p>Scan this code with your authenticator app, or type the key into it.</p>
          <div class="qr" role="img" aria-label="QR code of the authenticator key">
            {raw(qrSvg)}
          </div>
          <p>
            Key: <span class="secret">{totpSecret.replace(/(.{4})/g, "$1 ").trim()}</span>
          </p>
          <p class="hint">
            <a href={otpauthUri}>Open in an authenticator app on this device</a>
          </p>
          <label for="code">Code the app shows now</label>
          <input
            id="code"
            name="code"
            type="text"
            inputmode="numeric"
            autocomplete="one-time-code"
            pattern="[0-9 ]{6,7}"
            maxlength={7}
            required
          />
          <div class="actions">
            <button type="submit">Set password and authenticator</button>
          </div>
        </form>
      </div>
    </Page>
  );
}
