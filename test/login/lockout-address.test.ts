// Failed sign-ins are counted per client address as audit and the rate limits tell clients apart
// (proxy_service.trusted_proxies): behind a trusted load balancer the peer is always the balancer,
// so counting the peer let anyone lock everyone out with a few bad passwords. Attack-shaped: Mallory
// fails from one address until it is locked out; Alice, behind the same balancer, still signs in.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  acceptInviteByForm,
  inviteUser,
  type LoginWorld,
  nextCode,
  PASSWORD,
  startLoginWorld,
} from "./harness.ts";

setDefaultTimeout(60_000);

let w: LoginWorld;
let secret: string;

beforeAll(async () => {
  w = await startLoginWorld({
    // 3 failures lock a name, 12 an address; the test client plays the load balancer.
    proxyYaml: '  trusted_proxies: ["127.0.0.1"]\n  login: { max_failures: 3, lockout: 10m }\n',
  });
  secret = (await acceptInviteByForm(w, await inviteUser(w, "alice", "dev"))).secret;
});
afterAll(() => w?.close());

const login = (from: string, body: Record<string, unknown>) =>
  w.gw.fetch("/v1/auth/login", {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", "x-forwarded-for": from },
  });

describe("sign-in lockouts per client address behind a trusted load balancer", () => {
  test("one client's failures lock out that client, not everyone behind the balancer", async () => {
    const mallory = "203.0.113.66";
    const codes: number[] = [];
    // A different name each time: only the address count grows.
    for (let i = 0; i < 13; i++)
      codes.push(
        (await login(mallory, { user: `guess-${i}`, password: "wrong password 1", code: "000000" })).status,
      );
    expect(codes.slice(0, 11)).toEqual(Array(11).fill(401));
    expect(codes.at(-1)).toBe(429);
    // Mallory's forged left entry does not free her: the balancer appended the address it saw.
    expect(
      (await login(`198.51.100.7, ${mallory}`, { user: "x", password: "wrong password 1", code: "0" }))
        .status,
    ).toBe(429);

    const alice = await login("198.51.100.7", { user: "alice", password: PASSWORD, code: nextCode(secret) });
    expect(alice.status).toBe(200);
  });
});
