// Issue 17 §3: two `kubeport start` on one data_dir. Before the fix both ran: they shared one instance
// id (stopping either deleted the live one's inventory record) and raced to generate the TLS files
// (a certificate from one run, a key or CA from the other: KEY_VALUES_MISMATCH on every later
// start). Now the second is refused at once, naming the first's pid, and the files always match.
import { afterAll, expect, test } from "bun:test";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "../helpers/ha.ts";
import { type Solo, solo } from "../helpers/solo.ts";

const dir = mkdtempSync(join(tmpdir(), "kubeport-datadir-"));
const running: Solo[] = [];
afterAll(async () => {
  await Promise.all(running.map((s) => s.terminate(10_000)));
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

const pair = async (name: string) => {
  const dataDir = join(dir, name, "data");
  const a = await solo({ dir: join(dir, name), dataDir, name: "a" });
  const b = await solo({ dir: join(dir, name), dataDir, name: "b" });
  running.push(a, b);
  return { dataDir, a, b };
};

/** The generated server certificate is signed by the generated CA and matches its key. */
function tlsFilesMatch(dataDir: string): void {
  const read = (f: string) => readFileSync(join(dataDir, "tls", f), "utf8");
  const ca = new X509Certificate(read("ca.pem"));
  const server = new X509Certificate(read("server.pem"));
  expect(server.verify(ca.publicKey)).toBe(true);
  expect(server.checkPrivateKey(createPrivateKey(read("server-key.pem")))).toBe(true);
  expect(ca.checkPrivateKey(createPrivateKey(read("ca-key.pem")))).toBe(true);
}

test("a second process on a data_dir in use exits 1 naming the first's pid; the first keeps running with its inventory record", async () => {
  const { dataDir, a, b } = await pair("busy");
  a.start();
  await a.waitReady();
  const id = readFileSync(join(dataDir, "host_uuid"), "utf8").trim();
  const second = b.start();
  expect(await second.exited).toBe(1);
  expect(b.stderr()).toContain(
    `data_dir ${dataDir} is in use by another kubeport process (pid ${a.proc()!.pid}, holding ${join(dataDir, "kubeport.lock")})`,
  );
  expect((await a.fetch("/readyz")).status).toBe(200);
  const instances = await a.ctl(["get", "instance", "--format", "json"]);
  expect(
    (JSON.parse(instances.stdout) as { metadata: { name: string } }[]).map((i) => i.metadata.name),
  ).toEqual([id]);
  tlsFilesMatch(dataDir);
  // Once the first has stopped, the directory is free again.
  expect(await a.terminate()).toBe(0);
  b.start();
  await b.waitReady();
  expect(readFileSync(join(dataDir, "host_uuid"), "utf8").trim()).toBe(id);
}, 90_000);

test("two processes started at once on a fresh data_dir: exactly one runs, and the generated TLS files match", async () => {
  const { dataDir, a, b } = await pair("race");
  const [pa, pb] = [a.start(), b.start()];
  const loser = await until(
    () => (pa.exitCode !== null ? a : pb.exitCode !== null ? b : undefined),
    30_000,
    "one of the two to be refused",
    50,
  );
  const winner = loser === a ? b : a;
  expect(loser.proc()!.exitCode).toBe(1);
  expect(loser.stderr()).toContain(`(pid ${winner.proc()!.pid}, holding`);
  await winner.waitReady();
  tlsFilesMatch(dataDir);
}, 90_000);
