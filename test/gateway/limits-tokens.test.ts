// Crafted tokens against a real `kubeport start`: a token naming a real signing key but another
// algorithm (`alg: EdDSA` on an ES256 key) is a 401 like any bad token, never a 5xx, and a flood of
// them writes a couple of log lines, not one per request.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mapLimit } from "../../src/lib/pool.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import { startWsUpstream, type WsUpstream } from "../helpers/ws-attack.ts";

let up: WsUpstream;
let gw: GatewayProcess;

beforeAll(async () => {
  up = await startWsUpstream();
  gw = await startGatewayProcess({
    upstream: up,
    // Every request must reach authentication: the address limit is tested in limits-rate.test.ts.
    proxyYaml: "  limits:\n    unauthenticated_rate: { average: 1000000, burst: 1000000 }\n",
  });
}, 90_000);
afterAll(async () => {
  await gw?.remove();
  await up?.close();
});

const b64 = (x: unknown) => Buffer.from(JSON.stringify(x)).toString("base64url");

/** A token with the registry's real kid and claims that would pass, signed with nothing. */
function crafted(kid: string, alg: string): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: "https://localhost:3080",
    aud: "kubeport",
    sub: "alice",
    iat: now,
    nbf: now,
    exp: now + 600,
  };
  return `${b64({ alg, kid, typ: "JWT" })}.${b64(claims)}.${Buffer.alloc(64, 7).toString("base64url")}`;
}

describe("crafted tokens", () => {
  test("5,000 requests with alg EdDSA and a real kid: all 401 with the reason, 2 log lines", async () => {
    const token = crafted(gw.kid, "EdDSA");
    const linesBefore = gw.logs().length;
    const statuses = new Map<number, number>();
    let message = "";
    await mapLimit(Array.from({ length: 5000 }), 16, async () => {
      const res = await fetch(`${gw.url}/v1/clusters/up/api/v1/pods`, {
        headers: { authorization: `Bearer ${token}` },
        tls: { ca: gw.caPem },
      } as RequestInit);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      message = ((await res.json()) as { message: string }).message;
    });
    expect(Object.fromEntries(statuses)).toEqual({ 401: 5000 });
    expect(message).toBe("token algorithm does not match its signing key");
    expect(up.conns).toHaveLength(0);
    // The first refusal at once; the other 4,999 in one line when the interval ends (or at stop).
    const during = gw.logs().slice(linesBefore);
    expect(during.filter((l) => l.level >= 40)).toEqual([]);
    const pid = gw.pid;
    await gw.stop();
    const refused = gw.logs().filter((l) => l.msg === "token refused");
    expect(refused.map((l) => [l.reason, l.repeated])).toEqual([
      ["algorithm", undefined],
      ["algorithm", 4999],
    ]);
    console.log(`gateway ${pid}: ${during.length} log lines during 5,000 crafted-token requests`);
  }, 180_000);
});
