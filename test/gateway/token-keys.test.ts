// Tokens are only as good as their signing key, and only as long-lived as kubeport issues them (red
// team on issue 10). Real kubectl (and a real WebSocket client) → gateway → simulated EKS, whose
// request log shows what reached the cluster:
// - someone holding a signing key (leaked from a backup, say) mints a validly signed token that
//   claims a 10-year life, or one "issued" in the future to stretch it: 401, nothing upstream;
// - the admin's answer to that leak — retire the key at once (`ctl auth rotate --retire-after 0s`)
//   or delete it (`ctl rm signing_key/NAME`) — ends the watches and execs its tokens opened, with a
//   reason, not only new requests.
import { describe, expect, test } from "bun:test";
import { importJWK, type JWK, SignJWT } from "jose";
import { activeSigningKey, issueUserToken, listSigningKeys } from "../../src/gateway/auth/index.ts";
import type { SigningKey, User } from "../../src/registry/index.ts";
import { kubectl } from "../helpers/kubectl.ts";
import { execSocket, exitOf, ISSUER, until, userResource, useSimGateway } from "./sim-gateway.ts";

/** ~1 s is the promise (registry poll + recheck); the rest is slack for a loaded CI machine. */
const ENDED_WITHIN_MS = 5000;
const YEAR_S = 365 * 24 * 3600;

const stand = useSimGateway();

const activeKey = async (): Promise<SigningKey> => activeSigningKey(await listSigningKeys(stand.gw.backend))!;
const kidOf = (k: SigningKey) => String(k.spec.public_jwk.kid);

/** What an attacker holding the private key of `key` signs: every claim right, times of their choosing. */
async function forge(key: SigningKey, name: string, times: { iat: number; exp: number }): Promise<string> {
  const u = (await stand.gw.backend.get("user", name)) as User;
  return new SignJWT({ roles: u.spec.roles, user_created: u.spec.created })
    .setProtectedHeader({ alg: "ES256", kid: kidOf(key), typ: "JWT" })
    .setIssuer(ISSUER)
    .setAudience("kubeport")
    .setSubject(name)
    .setJti(crypto.randomUUID())
    .setIssuedAt(times.iat)
    .setNotBefore(Math.min(times.iat, Math.floor(Date.now() / 1000)))
    .setExpirationTime(times.exp)
    .sign(await importJWK(key.spec.private_jwk as JWK, "ES256"));
}

const reachedUpstream = (name: string) => stand.dev.requests().filter((r) => r.user === name);

describe("proxy_service.max_token_ttl: a validly signed token claiming a longer life is refused", () => {
  test("a 10-year token signed with the real key: 401 naming the cap, and nothing reaches the cluster", async () => {
    const { env } = await stand.person("forger");
    // The person's own token works: the refusal below is the forged life, nothing else.
    expect((await kubectl(env, ["get", "pods"])).stdout).toContain("web-0");
    stand.dev.resetRequests();

    const now = Math.floor(Date.now() / 1000);
    const forged = await forge(await activeKey(), "forger", { iat: now, exp: now + 10 * YEAR_S });
    const r = await kubectl(stand.envWith(forged), ["get", "pods"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: You must be logged in to the server");
    // kubectl prints the reason (the gateway's Warning header).
    expect(r.stderr).toContain("kubeport: token claims a life of 3650d");
    const raw = await stand.gw.fetch("/v1/clusters/dev-a/api/v1/namespaces/default/pods", { token: forged });
    expect(raw.status).toBe(401);
    expect(((await raw.json()) as { message: string }).message).toMatch(
      /token claims a life of .*; kubeport tokens \(proxy_service\.max_token_ttl\) live at most 1d6h$/,
    );
    // An exec with it runs nothing either.
    const exec = await kubectl(stand.envWith(forged), ["exec", "web-0", "--", "id"]);
    expect(exec.code).toBe(1);
    expect(reachedUpstream("forger")).toEqual([]);
  }, 60_000);

  test("a token 'issued' in the future (to stretch exp - iat under the cap) is refused, nothing upstream", async () => {
    await stand.person("time-traveller");
    stand.dev.resetRequests();
    const now = Math.floor(Date.now() / 1000);
    const forged = await forge(await activeKey(), "time-traveller", {
      iat: now + YEAR_S,
      exp: now + YEAR_S + 3600,
    });
    const raw = await stand.gw.fetch("/v1/clusters/dev-a/api/v1/namespaces/default/pods", { token: forged });
    expect(raw.status).toBe(401);
    expect(((await raw.json()) as { message: string }).message).toContain("token issued in the future");
    expect(reachedUpstream("time-traveller")).toEqual([]);
  }, 60_000);

  test("a token of exactly the longest life ctl auth sign issues (30h) is accepted", async () => {
    await stand.gw.backend.put(userResource("long-day", ["dev"]));
    const token = await issueUserToken(stand.gw.backend, {
      user: "long-day",
      issuer: ISSUER,
      ttlMs: 30 * 3_600_000,
    });
    const r = await stand.gw.fetch("/v1/clusters/dev-a/api/v1/namespaces/default/pods", { token });
    expect(r.status).toBe(200);
  }, 60_000);
});

describe("open streams end with the signing key of their token", () => {
  test("ctl auth rotate --retire-after 0s ends a watch opened with the old key's token (401 ERROR event kubectl prints)", async () => {
    const { env } = await stand.person("rotated-watch");
    const before = stand.dev.liveStreams().watch;
    const k = stand.open(env, ["get", "pods", "-w"]);
    await k.waitFor((o) => o.includes("web-2"), 20_000);
    await until("the watch to be open upstream", () => stand.dev.liveStreams().watch === before + 1);

    const t0 = performance.now();
    await stand.ctl("auth", "rotate", "--retire-after", "0s");
    await until("the upstream watch to close", () => stand.dev.liveStreams().watch === before);
    const ms = performance.now() - t0;
    expect(await exitOf(k)).toBe(0);
    expect(k.stdout()).toMatch(
      /Failure\s+Unauthorized\s+kubeport: the signing key of your token was (retired at \S+|removed); get a new token/,
    );
    expect(ms).toBeLessThan(ENDED_WITHIN_MS);
    // The old token opens nothing new; a token of the new key does.
    stand.dev.resetRequests();
    expect((await kubectl(env, ["get", "pods"])).code).toBe(1);
    expect(reachedUpstream("rotated-watch")).toEqual([]);
    const fresh = await issueUserToken(stand.gw.backend, { user: "rotated-watch", issuer: ISSUER });
    expect((await kubectl(stand.envWith(fresh), ["get", "pods"])).stdout).toContain("web-0");
  }, 60_000);

  test("ctl rm signing_key/NAME ends an exec its token opened: Status on channel 3, then close", async () => {
    const { token } = await stand.person("removed-key-exec");
    const key = await activeKey();
    const before = stand.dev.liveStreams().exec;
    const { closed, status } = execSocket(stand.gw, "dev-a", token);
    await until("the exec to start upstream", () => stand.dev.liveStreams().exec === before + 1);

    // A second person on the same gateway, with a token of another key, keeps their exec.
    await stand.ctl("auth", "rotate");
    const other = await stand.person("other-key-exec");
    const kept = stand.open(other.env, ["exec", "web-1", "--", "sleep", "600"]);
    await until("the other exec to start upstream", () => stand.dev.liveStreams().exec === before + 2);

    const t0 = performance.now();
    await stand.ctl("rm", `signing_key/${key.metadata.name}`);
    await until("the upstream exec to close", () => stand.dev.liveStreams().exec === before + 1);
    const ms = performance.now() - t0;
    expect((await closed).code).toBe(1000);
    expect(status()).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "Unauthorized",
      code: 401,
      message:
        "kubeport: the signing key of your token was removed; get a new token and run the command again",
    });
    expect(ms).toBeLessThan(ENDED_WITHIN_MS);
    expect(kept.proc.exitCode).toBeNull();
    expect(stand.dev.liveStreams().exec).toBe(before + 1);
  }, 60_000);
});
