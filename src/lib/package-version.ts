// Build-time macro: kubeport's version from package.json, inlined as a string literal by Bun's
// bundler/transpiler (import it `with { type: "macro" }`), so the binary does not carry package.json.
import { readFileSync } from "node:fs";

/** The "version" field of the repository's package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}
