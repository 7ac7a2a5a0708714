// Keeps the data flow one way: reads every import line under src/ and checks it against the layer rules.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../src");

/** Which components each component may import (lib is the floor; cli is the top). */
const ALLOWED: Record<string, readonly string[]> = {
  lib: [],
  config: ["lib"],
  audit: ["lib"],
  recording: ["lib"],
  registry: ["lib", "config"],
  discovery: ["lib", "config", "registry"],
  gateway: ["lib", "config", "registry", "audit", "recording"],
  console: ["lib", "config", "registry", "gateway", "audit", "recording"],
  sim: ["lib", "sim"],
  cli: ["lib", "config", "registry", "discovery", "gateway", "audit", "recording", "console"],
  "main.ts": ["cli"],
};
/** The only production files allowed to reach the simulators: the demo command bundles them on purpose. */
const SIM_IMPORTERS = new Set(["cli/commands/demo.ts"]);

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) yield path;
  }
}

const IMPORT = /^\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|^\s*import\s+["']([^"']+)["']/gm;

interface Edge {
  file: string;
  from: string;
  to: string;
  spec: string;
  deep: boolean;
}

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const path of sourceFiles(SRC)) {
    const file = relative(SRC, path);
    const from = file.includes("/") ? file.split("/")[0]! : file;
    for (const m of readFileSync(path, "utf8").matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2])!;
      if (!spec.startsWith(".")) continue;
      const target = relative(SRC, resolve(dirname(path), spec));
      const to = target.split("/")[0]!;
      if (to === from) continue;
      const rest = target.split("/").slice(1).join("/");
      out.push({
        file,
        from,
        to,
        spec,
        deep: rest !== "" && rest !== "index.ts" && to !== "lib" && to !== "sim",
      });
    }
  }
  return out;
}

describe("architecture", () => {
  const all = edges();

  test("components import only the layers below them", () => {
    const bad = all
      .filter(
        (e) => !(ALLOWED[e.from] ?? []).includes(e.to) && !(e.to === "sim" && SIM_IMPORTERS.has(e.file)),
      )
      .map((e) => `${e.file} imports ${e.spec}`);
    expect(bad).toEqual([]);
  });

  test("other components are imported through their index, not deep paths", () => {
    expect(all.filter((e) => e.deep).map((e) => `${e.file} imports ${e.spec}`)).toEqual([]);
  });

  test("discovery and gateway never import each other", () => {
    const crossing = all.filter(
      (e) => (e.from === "discovery" && e.to === "gateway") || (e.from === "gateway" && e.to === "discovery"),
    );
    expect(crossing).toEqual([]);
  });

  test("the rules see the real tree", () => {
    expect(all.length).toBeGreaterThan(0);
  });
});
