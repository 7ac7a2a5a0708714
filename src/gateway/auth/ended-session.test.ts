// Sign-out on another view: the key cache follows the registry on a watch of its own, which can lag
// the cluster cache that ends streams and clears verified tokens (CI saw a 200 after every stream of
// the signed-out session had ended). A session that view reports ended is refused at once.
import { afterEach, expect, test } from "bun:test";
import { silentLogger } from "../../lib/log.ts";
import { openSqliteBackend } from "../../registry/index.ts";
import { startSession } from "../login/sessions.ts";
import { createAuthenticator } from "./authenticator.ts";
import { issueClusterToken } from "./cluster-tokens.ts";

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function signedOutWhileTheKeyCacheLags(endedSession?: (sid: string) => boolean) {
  // A slow feed (10 s): the key cache's watch does not see the delete within the test.
  const backend = openSqliteBackend({ path: ":memory:", pollMs: 10_000 });
  closers.push(() => backend.close());
  const created = new Date().toISOString();
  await backend.create({
    kind: "user",
    version: "v1",
    metadata: { name: "alice" },
    spec: { roles: [], created },
  });
  const { session, expiresAt } = await startSession(
    backend,
    { user: "alice", source: "local", user_created: created, client: "cli" },
    3_600_000,
  );
  const auth = createAuthenticator({
    backend,
    issuer: "kubeport",
    log: silentLogger,
    ...(endedSession ? { endedSession } : {}),
  });
  closers.push(() => auth.close());
  const { token } = await issueClusterToken(backend, {
    user: "alice",
    sessionId: session.metadata.name,
    sessionExpiresAt: expiresAt,
    cluster: "dev",
    issuer: "kubeport",
  });
  const header = `Bearer ${token}`;
  expect((await auth.authenticate(header)).user).toBe("alice");
  await backend.delete("login_session", session.metadata.name);
  return { auth, header, sid: session.metadata.name };
}

test("a session the cluster cache saw signed out is refused though the key cache still holds it", async () => {
  const ended = new Set<string>();
  const { auth, header, sid } = await signedOutWhileTheKeyCacheLags((s) => ended.has(s));
  ended.add(sid);
  await expect(auth.authenticate(header)).rejects.toThrow("your login session has ended");
});

test("control: a session no view has seen ended still opens", async () => {
  const { auth, header } = await signedOutWhileTheKeyCacheLags(() => false);
  // The key cache has not followed the delete yet: this is the gap the gateway closes with its cache.
  expect((await auth.authenticate(header)).user).toBe("alice");
});
