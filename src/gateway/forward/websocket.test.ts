import { describe, expect, test } from "bun:test";
import { kubeStatus } from "../status.ts";
import { closeReason, statusFrame } from "./websocket.ts";

const status = kubeStatus(403, "kubeport: locked");
const dec = new TextDecoder();

describe("statusFrame: the reason on the error channel of each channel protocol", () => {
  test.each(["v5.channel.k8s.io", "v4.channel.k8s.io"])("%s: channel 3 carries the Status as JSON", (p) => {
    const f = statusFrame(p, status) as Uint8Array;
    expect(f[0]).toBe(3);
    expect(JSON.parse(dec.decode(f.subarray(1)))).toEqual(status);
  });
  test.each(["channel.k8s.io", "v2.channel.k8s.io", "v3.channel.k8s.io"])(
    "%s: channel 3 carries the message",
    (p) => {
      const f = statusFrame(p, status) as Uint8Array;
      expect([f[0], dec.decode(f.subarray(1))]).toEqual([3, "kubeport: locked"]);
    },
  );
  test("base64 variants: a text frame, channel '3'", () => {
    const f = statusFrame("v4.base64.channel.k8s.io", status) as string;
    expect(f[0]).toBe("3");
    expect(JSON.parse(Buffer.from(f.slice(1), "base64").toString())).toEqual(status);
  });
  test("port-forward has no error channel for it", () => {
    expect(statusFrame("SPDY/3.1+portforward.k8s.io", status)).toBeUndefined();
    expect(statusFrame("", status)).toBeUndefined();
  });
});

test("closeReason keeps a close frame's reason within 123 bytes, cut at a character", () => {
  expect(closeReason("short")).toBe("short");
  const long = closeReason("é".repeat(100));
  expect(Buffer.byteLength(long)).toBeLessThanOrEqual(123);
  expect(long).toBe("é".repeat(61));
});
