import { describe, expect, test } from "bun:test";
import { createEgress, proxyName } from "./egress.ts";
import { bypassesProxy, parseNoProxy } from "./no-proxy.ts";

const P = "http://proxy.corp:3128";

describe("which variable names the proxy", () => {
  test.each([
    ["https targets use HTTPS_PROXY", { HTTPS_PROXY: P }, "https://eks.example.com/", "HTTPS_PROXY"],
    ["wss targets use it too", { HTTPS_PROXY: P }, "wss://api.example.com/exec", "HTTPS_PROXY"],
    [
      "lower case wins over upper case",
      { HTTPS_PROXY: P, https_proxy: "http://other:1" },
      "https://x/",
      "https_proxy",
    ],
    [
      "an empty lower-case value counts as unset",
      { https_proxy: "", HTTPS_PROXY: P },
      "https://x/",
      "HTTPS_PROXY",
    ],
    ["http targets use HTTP_PROXY", { HTTP_PROXY: P }, "http://sts.example.com/", "HTTP_PROXY"],
    ["ws targets use it too", { http_proxy: P }, "ws://x/", "http_proxy"],
  ])("%s", (_, env, target, variable) => {
    expect(createEgress(env).route(target)?.variable).toBe(variable);
  });

  test.each([
    ["https with only HTTP_PROXY set goes direct", { HTTP_PROXY: P }, "https://x/"],
    ["http with only HTTPS_PROXY set goes direct", { HTTPS_PROXY: P }, "http://x/"],
    ["ALL_PROXY is not read", { ALL_PROXY: P, all_proxy: P }, "https://x/"],
    ["nothing set: direct", {}, "https://x/"],
  ])("%s", (_, env, target) => {
    expect(createEgress(env).route(target)).toBeUndefined();
  });
});

describe("NO_PROXY", () => {
  const route = (noProxy: string, target: string) =>
    createEgress({ HTTPS_PROXY: P, HTTP_PROXY: P, NO_PROXY: noProxy }).route(target) === undefined
      ? "direct"
      : "proxy";
  test.each([
    ["*", "https://anything.example/", "direct"],
    ["example.com", "https://example.com/", "direct"],
    ["example.com", "https://api.eks.example.com/", "direct"],
    [".example.com", "https://api.example.com/", "direct"],
    ["*.example.com", "https://example.com/", "direct"],
    ["example.com", "https://notexample.com/", "proxy"],
    ["EXAMPLE.com.", "https://Api.Example.COM/", "direct"],
    ["example.com:8443", "https://example.com:8443/", "direct"],
    ["example.com:8443", "https://example.com/", "proxy"],
    ["10.0.0.0/8", "https://10.1.2.3:6443/", "direct"],
    ["10.0.0.0/8", "https://11.1.2.3/", "proxy"],
    ["10.0.0.0/8", "https://ten.example/", "proxy"],
    ["127.0.0.1", "https://127.0.0.1:6443/", "direct"],
    ["127.0.0.1", "https://localhost/", "proxy"],
    ["::1", "https://[::1]:6443/", "direct"],
    ["[::1]:6443", "https://[::1]:6443/", "direct"],
    ["[::1]:6443", "https://[::1]:6444/", "proxy"],
    ["fd00::/8", "https://[fd12::5]/", "direct"],
    ["169.254.169.254, .internal  eks.amazonaws.com", "https://x.eks.amazonaws.com/", "direct"],
    ["", "https://127.0.0.1/", "proxy"],
  ])("NO_PROXY=%s: %s goes %s", (noProxy, target, how) => {
    expect(route(noProxy, target)).toBe(how);
  });

  test("no_proxy wins over NO_PROXY", () => {
    const e = createEgress({ HTTPS_PROXY: P, no_proxy: "a.example", NO_PROXY: "b.example" });
    expect(e.route("https://a.example/")).toBeUndefined();
    expect(e.route("https://b.example/")).toBeDefined();
  });

  test("entries it cannot read are an error naming the variable and the entries", () => {
    expect(() =>
      createEgress({ HTTPS_PROXY: P, NO_PROXY: "ok.example,10.0.0.0/99,bad host!,x:70000" }),
    ).toThrow('NO_PROXY: cannot read "10.0.0.0/99", "host!", "x:70000"');
    expect(parseNoProxy("a b,c").rules.map((r) => r.entry)).toEqual(["a", "b", "c"]);
    expect(bypassesProxy(parseNoProxy("10.0.0.0/8").rules, "10.9.9.9", 1)).toBe(true);
  });
});

describe("proxy URLs", () => {
  test("a bare host:port is http://; credentials become Proxy-Authorization and are never printed", () => {
    const e = createEgress({ HTTPS_PROXY: "user:p%40ss@proxy.corp:3128" });
    const p = e.https!;
    expect([p.host, p.port]).toEqual(["proxy.corp", 3128]);
    expect(p.authorization).toBe(`Basic ${Buffer.from("user:p@ss").toString("base64")}`);
    expect(proxyName(p)).toBe("proxy http://user:***@proxy.corp:3128 (HTTPS_PROXY)");
    expect(e.describe()).not.toContain("p%40ss");
  });

  test.each([
    [
      { HTTPS_PROXY: "https://proxy.corp:3128" },
      "HTTPS_PROXY=https://proxy.corp:3128: only http:// proxies are supported",
    ],
    [
      { HTTPS_PROXY: "socks5://proxy.corp:1080" },
      "HTTPS_PROXY=socks5://proxy.corp:1080: only http:// proxies are supported",
    ],
    [{ http_proxy: "http://[bad" }, 'http_proxy="http://[bad" is not a proxy URL (http://HOST:PORT)'],
  ])("%o is refused with its variable", (env, message) => {
    expect(() => createEgress(env)).toThrow(message);
  });

  test("describe says what goes where", () => {
    expect(createEgress({ HTTPS_PROXY: P, NO_PROXY: ".internal,10.0.0.0/8" }).describe()).toBe(
      "https through proxy http://proxy.corp:3128 (HTTPS_PROXY); http direct; except NO_PROXY=.internal,10.0.0.0/8",
    );
  });
});
