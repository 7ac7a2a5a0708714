// The compiled binary is built the same way everywhere: `npm run build`, the Dockerfile's build stage
// and the binary the tests run (test/helpers/binary.ts). Bytecode is one of those flags: without it a
// start parses and compiles the whole bundle before it serves (the cold-start target of issue 15);
// splitting another: without it, what is imported on first use is loaded at every start all the same.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { BUILD_ARGS } from "../helpers/binary.ts";

const ROOT = resolve(import.meta.dir, "../..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  scripts: Record<string, string>;
};

/** The flags of a `bun build src/main.ts …` command line, without the per-build ones (output, defines). */
function flags(command: string): string[] {
  // A command substitution (the commit in --define) is one value, whatever its words.
  const words = command
    .replace(/\\\n/g, " ")
    .replace(/\$\([^)]*\)/g, "")
    .split(/\s+/);
  const start = words.indexOf("build");
  expect(words[start - 1]).toBe("bun");
  const out: string[] = [];
  for (let i = start + 1; i < words.length && words[i] !== "&&"; i++) {
    const w = words[i]!;
    if (w === "--outfile" || w === "--define") i++;
    else if (w.startsWith("--")) out.push(w);
  }
  return out.sort();
}

const dockerBuild = () => {
  const text = readFileSync(join(ROOT, "Dockerfile"), "utf8").replace(/\\\n/g, " ");
  const line = text.split("\n").find((l) => /^RUN bun build /.test(l));
  if (!line) throw new Error("no `RUN bun build` in the Dockerfile");
  return line.slice("RUN ".length);
};

describe("build flags", () => {
  test("npm run build, the Dockerfile and the tests' binary compile with the same flags", () => {
    const npm = flags(pkg.scripts.build!);
    expect(flags(dockerBuild())).toEqual(npm);
    expect(flags(`bun ${BUILD_ARGS.join(" ")}`)).toEqual(npm);
  });

  test("the binary carries bytecode, as ESM (main.ts awaits at top level), split at dynamic imports", () => {
    for (const f of [flags(pkg.scripts.build!), flags(dockerBuild()), flags(`bun ${BUILD_ARGS.join(" ")}`)]) {
      expect(f).toContain("--compile");
      expect(f).toContain("--bytecode");
      expect(f).toContain("--format=esm");
      // What a start does not use (imported on first use) is a chunk of its own, not loaded at start.
      expect(f).toContain("--splitting");
      // Start-up code stays in the interpreter (cli/runtime.ts sets the normal policy once running).
      expect(f).toContain("--compile-jit-policy=4");
    }
  });
});
