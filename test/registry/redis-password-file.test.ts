// storage.password_file: the Redis password read from a file (a mounted Kubernetes Secret), so the
// config itself (a ConfigMap) holds no secret; problems with the file name the key and the path.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { parseConfig } from "../../src/config/index.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { kubeCluster } from "../../src/registry/conformance.ts";
import { createBackend } from "../../src/registry/index.ts";
import { type RedisStandalone, startRedisStandalone } from "../helpers/redis.ts";

let redis: RedisStandalone;
const dir = mkdtempSync(join(tmpdir(), "kp-redis-pwfile-"));

beforeAll(async () => {
  redis = await startRedisStandalone();
  const admin = new Redis(redis.url);
  await admin.config("SET", "requirepass", "from-the-secret");
  admin.disconnect();
}, 60_000);
afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const storage = (file: string) =>
  parseConfig(
    `version: v1\nkubeport:\n  data_dir: ${dir}\n  storage: { type: redis, url: "${redis.url}", password_file: ${file} }\n`,
    "t",
    { env: {} },
  ).kubeport.storage;

test("the password in the file (its trailing newline dropped) logs in", async () => {
  const file = join(dir, "password");
  writeFileSync(file, "from-the-secret\n");
  const backend = await createBackend(storage(file), { log: silentLogger });
  try {
    await backend.create(kubeCluster("pw-file"));
    expect((await backend.get("kube_cluster", "pw-file"))?.metadata.name).toBe("pw-file");
  } finally {
    await backend.close();
  }
}, 60_000);

test.each([
  ["a missing file", () => join(dir, "nope"), "cannot be read: no such file"],
  [
    "an empty file",
    () => {
      writeFileSync(join(dir, "empty"), "\n");
      return join(dir, "empty");
    },
    "is empty",
  ],
])("%s is an error naming the key and the path", async (_, path, words) => {
  const file = path();
  await expect(createBackend(storage(file), { log: silentLogger })).rejects.toThrow(
    `kubeport.storage.password_file: ${file} ${words}`,
  );
});

test.each([
  [
    "password and password_file",
    "password: x, password_file: /p",
    "kubeport.storage.password_file: set password or password_file, not both",
  ],
  [
    "sentinel_password_file without sentinels",
    'url: "redis://h:1", sentinel_password_file: /p',
    "kubeport.storage.sentinel_password_file: is only valid with sentinels",
  ],
])("config: %s is refused", (_, keys, message) => {
  expect(() =>
    parseConfig(
      `version: v1\nkubeport:\n  storage: { type: redis, url: "redis://h:1", ${keys.replace('url: "redis://h:1", ', "")} }\n`,
      "t",
      { env: {} },
    ),
  ).toThrow(message);
});
