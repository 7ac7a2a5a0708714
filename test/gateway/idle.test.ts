// Watches outlive the server's idle timeout: proxied requests switch it off for themselves.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cluster, startTestGateway, startUpstream, type TestGateway, type Upstream } from "./fixture.ts";

let up: Upstream;
let gw: TestGateway;
beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway({ clusters: [cluster("dev1", up.url, up.caPem)], idleTimeoutSec: 2 });
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

test("a watch idle longer than the idle timeout still delivers the next event", async () => {
  const before = up.openWatches();
  const pending = gw.fetch("/v1/clusters/dev1/api/v1/namespaces/default/pods?watch=true", {
    token: "alice-token",
  });
  for (let i = 0; i < 100 && up.openWatches() === before; i++) await Bun.sleep(10);
  up.emit('{"type":"ADDED","object":{"metadata":{"name":"a"}}}');
  const reader = (await pending).body!.getReader();
  expect(new TextDecoder().decode((await reader.read()).value)).toContain('"a"');
  await Bun.sleep(4500);
  up.emit('{"type":"ADDED","object":{"metadata":{"name":"b"}}}');
  const next = await Promise.race([
    reader.read(),
    Bun.sleep(2000).then(() => ({ value: undefined, done: true })),
  ]);
  expect(next.done).toBe(false);
  expect(new TextDecoder().decode(next.value)).toContain('"b"');
  await reader.cancel();
}, 60_000);
