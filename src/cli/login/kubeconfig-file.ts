// The person's kubeconfig: $KUBECONFIG's first file, else ~/.kube/config; merged, never replaced,
// and written 0600 (kubectl warns about group- or world-readable files).
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { parse, stringify } from "yaml";
import { KubeportError } from "../../lib/errors.ts";
import { type execKubeconfig, mergeKubeconfig, removeFromKubeconfig } from "../../lib/kubeconfig.ts";
import { writePrivate } from "./home.ts";

export function kubeconfigPath(env: Record<string, string | undefined>, explicit?: string): string {
  if (explicit) return explicit;
  const first = (env.KUBECONFIG ?? "").split(delimiter).find((p) => p.trim() !== "");
  return first ?? join(env.HOME || homedir(), ".kube", "config");
}

export function readKubeconfig(path: string): Record<string, unknown> | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, "utf8");
  if (text.trim() === "") return undefined;
  try {
    const doc = parse(text);
    if (doc && typeof doc === "object" && !Array.isArray(doc)) return doc as Record<string, unknown>;
  } catch (err) {
    throw new KubeportError(
      "bad_parameter",
      `${path} is not a readable kubeconfig (${(err as Error).message}); kubeport leaves it alone`,
    );
  }
  throw new KubeportError(
    "bad_parameter",
    `${path} is not a kubeconfig (not a YAML map); kubeport leaves it alone`,
  );
}

/** Adds (or replaces) our entries; other clusters, users, contexts and settings stay as they are. */
export function mergeIntoKubeconfig(
  path: string,
  add: ReturnType<typeof execKubeconfig>,
  opts: { setCurrent?: boolean } = {},
): void {
  const merged = mergeKubeconfig(readKubeconfig(path), add, opts);
  writePrivate(path, stringify(merged));
}

export function removeFromKubeconfigFile(path: string, names: ReadonlySet<string>): void {
  const doc = readKubeconfig(path);
  if (!doc) return;
  writePrivate(path, stringify(removeFromKubeconfig(doc, names)));
}

export const currentContext = (path: string): string | undefined => {
  const doc = readKubeconfig(path);
  return typeof doc?.["current-context"] === "string" ? (doc["current-context"] as string) : undefined;
};
