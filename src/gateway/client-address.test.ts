// X-Forwarded-For is believed only from configured trusted proxies, read right to left.
import { describe, expect, test } from "bun:test";
import { addressIp, clientAddresses } from "./client-address.ts";

const server = (address: string, port = 5000) => ({
  requestIP: () => ({ address, port, family: address.includes(":") ? ("IPv6" as const) : ("IPv4" as const) }),
});
const req = (xff?: string) =>
  new Request(
    "https://gw/v1/clusters/c/api",
    xff === undefined ? {} : { headers: { "x-forwarded-for": xff } },
  );

describe("clientAddresses", () => {
  test.each([
    ["no trusted proxies: the header is ignored", [], "10.1.2.3", "6.6.6.6", "10.1.2.3:5000"],
    [
      "a peer that is not trusted: its header is ignored",
      ["10.0.0.0/8"],
      "192.0.2.9",
      "6.6.6.6",
      "192.0.2.9:5000",
    ],
    ["a trusted peer: the last entry", ["10.0.0.0/8"], "10.1.2.3", "198.51.100.7", "198.51.100.7"],
    [
      "a forged leftmost entry is skipped: the first untrusted hop from the right wins",
      ["10.0.0.0/8"],
      "10.1.2.3",
      "6.6.6.6, 198.51.100.7, 10.9.9.9",
      "198.51.100.7",
    ],
    [
      "a malformed hop stops the walk at the proxy",
      ["10.0.0.0/8"],
      "10.1.2.3",
      "198.51.100.7, not-an-ip",
      "10.1.2.3:5000",
    ],
    ["a trusted peer without the header", ["10.0.0.0/8"], "10.1.2.3", undefined, "10.1.2.3:5000"],
    ["IPv4-mapped peers and IPv6 clients", ["10.0.0.0/8"], "::ffff:10.1.2.3", "2001:db8::7", "2001:db8::7"],
    ["an IPv6 peer keeps its brackets", [], "2001:db8::1", undefined, "[2001:db8::1]:5000"],
  ] as const)("%s", (_, trusted, peer, xff, want) => {
    expect(clientAddresses(trusted).of(req(xff), server(peer))).toBe(want);
  });
});

test("addressIp: the IP of an audit address, as X-Forwarded-For carries it", () => {
  expect(addressIp("127.0.0.1:5123")).toBe("127.0.0.1");
  expect(addressIp("[::1]:5123")).toBe("::1");
  expect(addressIp("203.0.113.9")).toBe("203.0.113.9");
  expect(addressIp("2001:db8::7")).toBe("2001:db8::7");
  expect(addressIp(undefined)).toBeUndefined();
});
