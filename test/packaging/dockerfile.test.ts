// The Dockerfile where no Docker engine exists (the development machines and CI have none): its
// instructions are checked (pinned images, one lockfile, non-root user, a writable data dir) and its
// build stage's RUN steps run as written, in a copy of the build context, with this machine's Bun.
import { afterAll, describe, expect, test } from "bun:test";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  devDependencies: Record<string, string>;
};

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  steps: Instruction[];
}

/** Instructions by stage: comments dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Stage[] {
  const lines = text.split("\n").filter((l) => !/^\s*#/.test(l));
  const joined = lines.join("\n").replace(/\\\n/g, " ");
  const stages: Stage[] = [];
  for (const line of joined.split("\n")) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (op === "FROM") {
      const [from, as, name] = args.split(/\s+/);
      stages.push({ from: from!, ...(as?.toUpperCase() === "AS" && name ? { name } : {}), steps: [] });
    } else stages.at(-1)?.steps.push({ op, args });
  }
  return stages;
}

const stages = parseDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
const build = stages.find((s) => s.name === "build")!;
const runtime = stages.at(-1)!;
const steps = (s: Stage, op: string) => s.steps.filter((i) => i.op === op).map((i) => i.args);
/** `--chown=…`/`--from=…` flags and the sources/destination of a COPY. */
function copyParts(args: string) {
  const words = args.split(/\s+/);
  const flags = Object.fromEntries(
    words.filter((w) => w.startsWith("--")).map((w) => w.slice(2).split("=") as [string, string]),
  );
  const paths = words.filter((w) => !w.startsWith("--"));
  return { flags, sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

describe("Dockerfile", () => {
  test("every base image is pinned to a version, and the build stage's Bun is package.json's", () => {
    for (const s of stages) {
      const [image, tag] = s.from.split("@")[0]!.split(/:(?=[^/]+$)/);
      const digest = s.from.includes("@sha256:");
      expect({ image, pinned: digest || (tag !== undefined && tag !== "latest") }).toEqual({
        image,
        pinned: true,
      });
    }
    expect(build.from).toBe(`oven/bun:${pkg.devDependencies.bun}`);
  });

  test("dependencies install from package-lock.json, frozen, without install scripts", () => {
    const lockCopy = steps(build, "COPY")
      .map(copyParts)
      .find((c) => c.sources.includes("package-lock.json"));
    expect(lockCopy?.sources).toEqual(
      expect.arrayContaining(["package.json", "package-lock.json", "bunfig.toml"]),
    );
    const install = steps(build, "RUN").find((r) => r.startsWith("bun install"));
    expect(install).toContain("--frozen-lockfile");
    expect(install).toContain("--production");
    expect(install).toContain("--ignore-scripts");
  });

  test("the image runs as the non-root user and its data dir is that user's", () => {
    const user = steps(runtime, "USER").at(-1);
    expect(user).toBeDefined();
    expect(user!.split(":")[0]).not.toMatch(/^(root|0)$/);
    // distroless's nonroot is uid 65532: the data dir is copied in owned by it.
    expect(user).toBe("nonroot:nonroot");
    const env = steps(runtime, "ENV").find((e) => e.startsWith("KUBEPORT_DATA_DIR="));
    const dataDir = env?.split("=")[1];
    expect(dataDir).toBe("/var/lib/kubeport");
    const dataCopy = steps(runtime, "COPY")
      .map(copyParts)
      .find((c) => c.dest === dataDir);
    expect(dataCopy?.flags.chown).toBe("65532:65532");
    expect(steps(runtime, "VOLUME")).toEqual([JSON.stringify([dataDir])]);
    expect(JSON.parse(steps(runtime, "ENTRYPOINT")[0]!)).toEqual(["/usr/local/bin/kubeport"]);
  });

  test("nothing the build copies is excluded by .dockerignore", () => {
    const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    const sources = steps(build, "COPY").flatMap((c) => copyParts(c).sources);
    for (const src of sources) {
      expect(existsSync(join(ROOT, src))).toBe(true);
      expect(ignored.filter((p) => src === p || src.startsWith(`${p}/`))).toEqual([]);
    }
  });

  describe("the build stage's steps, run here", () => {
    const work = mkdtempSync(join(tmpdir(), "kp-docker-"));
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    test("install, compile and `kubeport version` succeed, leaving the binary and the data dir", async () => {
      const ctx = join(work, "src");
      const out = join(work, "out");
      const bin = join(work, "bin");
      mkdirSync(ctx);
      mkdirSync(bin);
      // `bun` on PATH is the Bun running this test (the one the image pins, checked above).
      symlinkSync(process.execPath, join(bin, "bun"));
      for (const step of build.steps) {
        if (step.op === "COPY") {
          const { sources, dest } = copyParts(step.args);
          for (const src of sources) {
            const to = dest.endsWith("/") ? join(ctx, dest, src) : join(ctx, dest);
            mkdirSync(dirname(to), { recursive: true });
            cpSync(join(ROOT, src), to, { recursive: true });
          }
        } else if (step.op === "RUN") {
          const cmd = step.args.replaceAll("/out/", `${out}/`);
          const p = Bun.spawn(["sh", "-c", cmd], {
            cwd: ctx,
            env: { PATH: `${bin}:/usr/bin:/bin`, HOME: process.env.HOME ?? work },
            stdout: "pipe",
            stderr: "pipe",
          });
          const [code, stdout, stderr] = await Promise.all([
            p.exited,
            new Response(p.stdout).text(),
            new Response(p.stderr).text(),
          ]);
          if (code !== 0) throw new Error(`RUN ${step.args}\nexit ${code}\n${stdout}\n${stderr}`);
          if (step.args.includes("kubeport version")) expect(stdout).toContain("kubeport");
        } else if (!["WORKDIR", "ENV", "ARG"].includes(step.op)) {
          throw new Error(`this test does not know how to run ${step.op} in the build stage`);
        }
      }
      // The dev-only packages stayed out (--production): the test client is not in the image.
      expect(existsSync(join(ctx, "node_modules", "@kubernetes"))).toBe(false);
      expect(statSync(join(out, "kubeport")).mode & 0o111).not.toBe(0);
      // A compiled Bun executable carries the runtime: tens of MB, not a script.
      expect(statSync(join(out, "kubeport")).size).toBeGreaterThan(20_000_000);
      expect(statSync(join(out, "data")).isDirectory()).toBe(true);
    }, 600_000);
  });
});
