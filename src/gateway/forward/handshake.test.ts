import { expect, test } from "bun:test";
import { checkHandshake, offersBearerProtocol, wantsWebSocket } from "./handshake.ts";

const kubectlExec = (over: Record<string, string | null> = {}) => {
  const h = new Headers({
    Connection: "Upgrade",
    Upgrade: "websocket",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Protocol": "v5.channel.k8s.io",
  });
  for (const [n, v] of Object.entries(over)) v === null ? h.delete(n) : h.set(n, v);
  return h;
};

test("kubectl's exec, attach and port-forward handshakes pass with their subprotocols", () => {
  expect(checkHandshake("GET", kubectlExec(), "exec")).toEqual(["v5.channel.k8s.io"]);
  expect(checkHandshake("GET", kubectlExec(), "attach")).toEqual(["v5.channel.k8s.io"]);
  const pf = kubectlExec({ "Sec-WebSocket-Protocol": "SPDY/3.1+portforward.k8s.io" });
  expect(checkHandshake("GET", pf, "portforward")).toEqual(["SPDY/3.1+portforward.k8s.io"]);
  const old = kubectlExec({
    "Sec-WebSocket-Protocol": "v4.channel.k8s.io, v4.base64.channel.k8s.io, channel.k8s.io",
  });
  expect(checkHandshake("GET", old, "exec")).toEqual([
    "v4.channel.k8s.io",
    "v4.base64.channel.k8s.io",
    "channel.k8s.io",
  ]);
  expect(checkHandshake("GET", kubectlExec({ Connection: "keep-alive, Upgrade" }), "exec")).toHaveLength(1);
});

test("credential-bearing and unknown subprotocols are left out", () => {
  const h = kubectlExec({
    "Sec-WebSocket-Protocol": "base64url.bearer.authorization.k8s.io.dG9rZW4, v5.channel.k8s.io, chat",
  });
  expect(offersBearerProtocol(h)).toBe(true);
  expect(checkHandshake("GET", h, "exec")).toEqual(["v5.channel.k8s.io"]);
});

test("a port-forward protocol is not an exec protocol", () => {
  const h = kubectlExec({ "Sec-WebSocket-Protocol": "SPDY/3.1+portforward.k8s.io" });
  expect(() => checkHandshake("GET", h, "exec")).toThrow(/must offer v5.channel.k8s.io/);
});

test("every problem at once, as a bad_parameter", () => {
  const h = kubectlExec({ Connection: null, "Sec-WebSocket-Key": "abc", "Sec-WebSocket-Version": null });
  expect(() => checkHandshake("POST", h, undefined)).toThrow(
    'bad WebSocket handshake: the method must be GET, not POST; Connection must list "Upgrade"; Sec-WebSocket-Key must be 16 bytes in base64; Sec-WebSocket-Version must be 13, got ""; WebSocket is served for pods/exec, pods/attach and pods/portforward only',
  );
});

test.each([
  ["websocket", true],
  ["WebSocket", true],
  ["h2c, websocket", true],
  ["SPDY/3.1", false],
  ["websockets", false],
])("Upgrade: %s asks for WebSocket: %p", (value, want) => {
  expect(wantsWebSocket(new Headers({ upgrade: value }))).toBe(want);
});
