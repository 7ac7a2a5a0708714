// The folder READMEs under src/ against the tree: every source file of a folder is described in its
// README, and every file a README's listing names exists. A file added, renamed or removed without its
// README following fails here. (Whether each description is still true is for a reader to judge.)
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const SRC = join(ROOT, "src");

function* readmes(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) yield* readmes(join(dir, e.name));
    else if (e.name === "README.md") yield join(dir, e.name);
  }
}

/** Source files a README covers: its folder's, and its subfolders' that have no README of their own. */
function* covered(dir: string, top = true): Generator<string> {
  if (!top && existsSync(join(dir, "README.md"))) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) yield* covered(join(dir, e.name), false);
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") && e.name !== "index.ts")
      yield join(dir, e.name);
  }
}

/** The `.ts` names inside the README's code blocks (its listing). */
function listed(text: string): string[] {
  return [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.match(/[\w./-]+\.ts\b/g) ?? []);
}

/** Where a listed name can be: in the folder tree, or a path from src/ or the repository. */
function resolves(dir: string, name: string): boolean {
  if ([join(dir, name), join(SRC, name), join(ROOT, name)].some(existsSync)) return true;
  const want = basename(name);
  const search = (d: string): boolean =>
    readdirSync(d, { withFileTypes: true }).some((e) =>
      e.isDirectory() ? search(join(d, e.name)) : e.name === want,
    );
  return search(dir);
}

const all = [...readmes(SRC)];

describe("src/ READMEs", () => {
  test("there are some", () => expect(all.length).toBeGreaterThan(3));

  test.each(all.map((r) => [relative(ROOT, r)]))("%s describes every source file of its folder", (readme) => {
    const text = readFileSync(join(ROOT, readme), "utf8");
    const dir = dirname(join(ROOT, readme));
    const missing = [...covered(dir)].filter((f) => !text.includes(basename(f))).map((f) => relative(dir, f));
    expect(missing).toEqual([]);
  });

  test.each(all.map((r) => [relative(ROOT, r)]))("%s names no file that is gone", (readme) => {
    const text = readFileSync(join(ROOT, readme), "utf8");
    const dir = dirname(join(ROOT, readme));
    expect(listed(text).filter((name) => !resolves(dir, name))).toEqual([]);
  });
});
