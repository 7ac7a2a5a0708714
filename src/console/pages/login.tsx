/** @jsxImportSource hono/jsx */
// The sign-in page: password + TOTP for local users, a "Sign in with …" link per OIDC issuer.
import { Page } from "../layout.tsx";

export function LoginPage({
  csrf,
  issuers,
  error,
  user = "",
  next = "",
}: {
  csrf: string;
  issuers: { index: number; name: string }[];
  error?: string;
  user?: string;
  next?: string;
}) {
  return (
    <Page title="Sign in">
      <div class="card narrow">
        <h1>Sign in to kubeport</h1>
        {error ? (
          <p class="error" role="alert" id="login-error">
            {error}
          </p>
        ) : null}
        <form method="post" action="/web/login" aria-describedby={error ? "login-error" : undefined}>
          <input type="hidden" name="csrf" value={csrf} />
          <input type="hidden" name="next" value={next} />
          <label for="user">User name</label>
          <input id="user" name="user" type="text" autocomplete="username" required value={user} autofocus />
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required />
          <label for="code">Authenticator code</label>
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
          <p class="hint">The 6-digit code your authenticator app shows for kubeport.</p>
          <div class="actions">
            <button type="submit">Sign in</button>
          </div>
        </form>
        {issuers.length > 0 ? <p class="or">or</p> : null}
        <div class="actions">
          {issuers.map((i) => (
            <a class="button secondary" href={`/web/login/oidc/${i.index}`}>
              Sign in with {i.name}
            </a>
          ))}
        </div>
      </div>
    </Page>
  );
}
