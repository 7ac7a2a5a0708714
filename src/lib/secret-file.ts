// A secret kept in a file (a Kubernetes Secret mounted as a volume, a systemd credential): read when
// it is needed, one trailing newline dropped, problems named by the setting and the path.
import { readFileSync } from "node:fs";
import { badParameter } from "./errors.ts";

const ERRNO_WORDS: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EISDIR: "it is a directory, not a file",
};

/** The file's content without its final newline; `key` names the setting in errors. */
export function readSecretFile(key: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    throw badParameter(`${key}: ${path} cannot be read: ${ERRNO_WORDS[code] ?? (err as Error).message}`);
  }
  const secret = text.replace(/\r?\n$/, "");
  if (secret === "") throw badParameter(`${key}: ${path} is empty`);
  return secret;
}
