// package.json against the code and the lockfile: what the product imports is a dependency and
// nothing else is, `engines` covers every locked package, install scripts are approved, and
// package-lock.json is the one lockfile (npm ci, CI and the Dockerfile's bun install all read it).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const read = (p: string) => readFileSync(join(ROOT, p), "utf8");

interface PackageJson {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  engines: Record<string, string>;
  overrides?: Record<string, string>;
  allowScripts?: Record<string, boolean>;
}
interface LockEntry {
  name?: string;
  version?: string;
  integrity?: string;
  engines?: Record<string, string> | string[];
  hasInstallScript?: boolean;
  optional?: boolean;
}

const pkg = JSON.parse(read("package.json")) as PackageJson;
const npmLock = JSON.parse(read("package-lock.json")) as { packages: Record<string, LockEntry> };

/** "node_modules/a/node_modules/@s/b" → name "@s/b"; the entry's own name wins (aliases). */
const lockName = (path: string, e: LockEntry) => e.name ?? path.slice(path.lastIndexOf("node_modules/") + 13);
const installed = Object.entries(npmLock.packages).filter(([path]) => path !== "");

function* files(dir: string): Generator<string> {
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (e.name.endsWith(".ts") || e.name.endsWith(".tsx")) yield p;
  }
}

/** The package a bare specifier names ("@a/b/c" → "@a/b", "x/y" → "x"); undefined for relative/builtin. */
function packageOf(spec: string): string | undefined {
  if (spec.startsWith(".") || spec.startsWith("node:") || spec.startsWith("bun:") || spec === "bun") return;
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Packages imported by `paths`, split into runtime imports and type-only ones. */
function imports(paths: Iterable<string>) {
  const runtime = new Set<string>();
  const typeOnly = new Set<string>();
  const stmt =
    /^\s*(import|export)\s+(type\s+)?([^;]*?)\s+from\s+["']([^"']+)["']|^\s*import\s+["']([^"']+)["']/gm;
  // Dynamic imports and require calls: modules loaded when first used are runtime imports too.
  const dynamic = /\b(?:import|require)\(\s*["']([^"']+)["']\s*\)/g;
  for (const path of paths) {
    const text = read(path);
    for (const m of text.matchAll(stmt)) {
      const name = packageOf(m[4] ?? m[5]!);
      if (!name) continue;
      // `import { type A, type B } from` is type-only too; `import { type A, b }` is not.
      const names = m[3]?.match(/^\{([^}]*)\}$/s)?.[1];
      const allTypes = names
        ?.split(",")
        .map((s) => s.trim())
        .filter(Boolean)
        .every((s) => s.startsWith("type "));
      (m[2] || allTypes ? typeOnly : runtime).add(name);
    }
    for (const m of text.matchAll(dynamic)) {
      const name = packageOf(m[1]!);
      if (name) runtime.add(name);
    }
  }
  for (const r of runtime) typeOnly.delete(r);
  return { runtime, typeOnly };
}

const product = [...files("src")].filter((p) => !p.endsWith(".test.ts"));
const testsAndScripts = [...files("src")]
  .filter((p) => p.endsWith(".test.ts"))
  .concat([...files("test")], [...files("scripts")]);

/** The lowest version a simple `>=X.Y.Z` range admits. */
function floor(range: string): string {
  const m = /^>=\s*(\d+\.\d+\.\d+)$/.exec(range.trim());
  if (!m) throw new Error(`engines range ${JSON.stringify(range)} is not of the form >=X.Y.Z`);
  return m[1]!;
}

describe("package.json", () => {
  test("dependencies are exactly what the product imports at run time", () => {
    const { runtime } = imports(product);
    const declared = new Set(Object.keys(pkg.dependencies));
    expect([...runtime].filter((n) => !declared.has(n)).sort()).toEqual([]);
    // Anything else (test-only clients, types) belongs in devDependencies.
    expect([...declared].filter((n) => !runtime.has(n)).sort()).toEqual([]);
  });

  test("type-only, test and script imports are declared (devDependencies unless the product needs them)", () => {
    const { typeOnly } = imports(product);
    const t = imports(testsAndScripts);
    const declared = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)]);
    const missing = [...typeOnly, ...t.runtime, ...t.typeOnly].filter((n) => !declared.has(n));
    expect([...new Set(missing)].sort()).toEqual([]);
    expect(Object.keys(pkg.devDependencies).filter((n) => n in pkg.dependencies)).toEqual([]);
  });

  test("engines.node admits no version some locked package refuses (npm ci prints no EBADENGINE)", () => {
    const lowest = floor(pkg.engines.node!);
    const refusing = installed
      .filter(([, e]) => e.engines && !Array.isArray(e.engines) && e.engines.node)
      .filter(([, e]) => !Bun.semver.satisfies(lowest, (e.engines as Record<string, string>).node!))
      .map(
        ([path, e]) =>
          `${lockName(path, e)}@${e.version} wants node ${(e.engines as Record<string, string>).node}`,
      );
    expect(refusing).toEqual([]);
    // The node running npm here (and on CI) is inside the range.
    expect(Bun.semver.satisfies(process.versions.node ?? "0.0.0", pkg.engines.node!)).toBe(true);
  });

  test("engines.bun and the pinned bun package are the Bun the product is built and tested with", () => {
    expect(pkg.devDependencies.bun).toBe(Bun.version);
    expect(Bun.semver.satisfies(Bun.version, pkg.engines.bun!)).toBe(true);
    expect(floor(pkg.engines.bun!)).toBe(Bun.version);
  });

  test("every locked package with install scripts is reviewed in allowScripts (npm 11 warns otherwise)", () => {
    const allow = pkg.allowScripts ?? {};
    const unreviewed = installed
      .filter(([, e]) => e.hasInstallScript)
      .map(([path, e]) => ({ name: lockName(path, e), version: e.version }))
      .filter(({ name, version }) => allow[name] === undefined && allow[`${name}@${version}`] === undefined)
      .map(({ name, version }) => `${name}@${version}`);
    expect(unreviewed).toEqual([]);
  });
});

describe("lockfiles", () => {
  test("package-lock.json is the only lockfile (bun reads it and is told to write none)", () => {
    const tracked = Bun.spawnSync(["git", "ls-files", "bun.lock", "bun.lockb"], {
      cwd: ROOT,
    }).stdout.toString();
    expect(tracked.trim()).toBe("");
    const bunfig = Bun.TOML.parse(read("bunfig.toml")) as { install?: { lockfile?: { save?: boolean } } };
    expect(bunfig.install?.lockfile?.save).toBe(false);
  });

  test("package-lock.json was made from this package.json", () => {
    const npmRoot = npmLock.packages[""] as LockEntry & PackageJson;
    expect(npmRoot.dependencies).toEqual(pkg.dependencies);
    expect(npmRoot.devDependencies).toEqual(pkg.devDependencies);
    expect(npmRoot.engines).toEqual(pkg.engines);
  });
});

describe("bunfig.toml", () => {
  test("holds only settings Bun reads (an unknown key is silently ignored)", () => {
    const docs = read("node_modules/bun-types/docs/runtime/bunfig.mdx");
    /** The documentation of `### \`path\``, up to the next heading; undefined when there is none. */
    const section = (path: string) => {
      const at = docs.indexOf(`### \`${path}\``);
      if (at < 0) return undefined;
      const next = docs.indexOf("\n### ", at + 4);
      return docs.slice(at, next < 0 ? undefined : next);
    };
    const leaves = (o: Record<string, unknown>, prefix: string[] = []): string[][] =>
      Object.entries(o).flatMap(([k, v]) =>
        v && typeof v === "object" && !Array.isArray(v)
          ? leaves(v as Record<string, unknown>, [...prefix, k])
          : [[...prefix, k]],
      );
    const unknown = leaves(Bun.TOML.parse(read("bunfig.toml")) as Record<string, unknown>).filter((path) => {
      if (section(path.join("."))) return false;
      // A key documented inside its table's section (`[install.lockfile]` … `save = true`).
      const table = section(path.slice(0, -1).join("."));
      return !table?.includes(`\n${path.at(-1)} =`);
    });
    expect(unknown.map((p) => p.join("."))).toEqual([]);
  });

  test("the test scripts give every test the timeout bunfig.toml cannot", () => {
    const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;
    const running = Object.entries(scripts).filter(([, cmd]) => /\bbun test\b/.test(cmd));
    expect(running.length).toBeGreaterThan(0);
    expect(running.filter(([, cmd]) => !/bun test --timeout \d+/.test(cmd)).map(([name]) => name)).toEqual(
      [],
    );
  });
});
