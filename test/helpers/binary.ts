// The compiled kubeport binary for tests: built once (dist/kubeport) when missing or older than the sources.
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
export const BINARY_PATH = join(ROOT, "dist", "kubeport");
const LOCK = join(ROOT, "dist", ".build.lock");
const BUN = process.execPath;

/** Same flags as `bun run build` (test/packaging/build-flags.test.ts keeps them the same). */
export const BUILD_ARGS = [
  "build",
  "src/main.ts",
  "--compile",
  "--minify",
  "--sourcemap",
  "--bytecode",
  "--format=esm",
  "--splitting",
  "--compile-jit-policy=4",
];

let cached: Promise<string> | undefined;

function newestSourceMtime(dir = join(ROOT, "src")): number {
  let newest = statSync(join(ROOT, "package.json")).mtimeMs;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts"))
        newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(dir);
  return newest;
}

const fresh = () => existsSync(BINARY_PATH) && statSync(BINARY_PATH).mtimeMs >= newestSourceMtime();

/** Compiles src/main.ts to `outfile` (extra flags e.g. --define); throws with bun's output on failure. */
export async function compileBinary(outfile: string, extra: string[] = []): Promise<void> {
  const p = Bun.spawn([BUN, ...BUILD_ARGS, ...extra, "--outfile", outfile], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    env: process.env,
  });
  const [code, out, err] = await Promise.all([
    p.exited,
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
  ]);
  if (code !== 0) throw new Error(`bun build failed (${code}):\n${out}\n${err}`);
}

/**
 * The path of a compiled binary that matches the sources: reuses dist/kubeport when it is newer
 * than every file in src/, else builds it (to a temp name, renamed into place, under a lock
 * directory so parallel test processes build once). $KUBEPORT_TEST_BINARY, when set, is used
 * as it is instead.
 */
export function kubeportBinary(): Promise<string> {
  // Another build (e.g. of main, to show a new test failing on the old code) when set.
  const override = process.env.KUBEPORT_TEST_BINARY;
  if (override) return Promise.resolve(override);
  cached ??= (async () => {
    if (fresh()) return BINARY_PATH;
    mkdirSync(join(ROOT, "dist"), { recursive: true });
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        mkdirSync(LOCK);
        break;
      } catch {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${LOCK} (remove it if no build is running)`);
        await Bun.sleep(200);
        if (fresh()) return BINARY_PATH;
      }
    }
    try {
      if (fresh()) return BINARY_PATH;
      const tmp = `${BINARY_PATH}.tmp-${process.pid}`;
      await compileBinary(tmp);
      renameSync(tmp, BINARY_PATH);
      if (existsSync(`${tmp}.map`)) renameSync(`${tmp}.map`, `${BINARY_PATH}.map`);
      return BINARY_PATH;
    } finally {
      rmdirSync(LOCK);
    }
  })();
  return cached;
}
