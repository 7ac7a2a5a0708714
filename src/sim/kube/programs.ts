// The few commands a simulated container can run for exec/attach: echo, cat, env, sleep, sh -c, ls, head -c,
// and test -d / tar (what `kubectl cp` runs), …
import { packTar, unpackTar } from "modern-tar";
import { normalize, PodFiles } from "./pod-files.ts";

export interface ProcIO {
  out(data: string | Uint8Array): void;
  err(data: string | Uint8Array): void;
  /** Next stdin chunk, or undefined at EOF (or when stdin was not requested). */
  read(): Promise<Uint8Array | undefined>;
  signal: AbortSignal;
  pod: string;
  /** The container's files (for cat FILE and tar); an empty filesystem when not given. */
  files?: PodFiles;
}

/** Runs argv and resolves to the exit code. */
export async function run(argv: string[], io: ProcIO): Promise<number> {
  const [cmd0, ...args] = argv;
  const cmd = (cmd0 ?? "").replace(/^\/(usr\/)?bin\//, "");
  switch (cmd) {
    case "echo": {
      const noNewline = args[0] === "-n";
      io.out(`${(noNewline ? args.slice(1) : args).join(" ")}${noNewline ? "" : "\n"}`);
      return 0;
    }
    case "cat": {
      if (args.length === 0) {
        for (let chunk = await io.read(); chunk; chunk = await io.read()) io.out(chunk);
        return 0;
      }
      let code = 0;
      for (const path of args) {
        const data = io.files?.get(path);
        if (data) io.out(data);
        else {
          io.err(`cat: ${path}: No such file or directory\n`);
          code = 1;
        }
      }
      return code;
    }
    case "tar":
      return tar(args, io);
    case "head":
      return head(args, io);
    case "ls": {
      const files = io.files ?? new PodFiles();
      let code = 0;
      for (const path of args.length ? args : ["/"]) {
        if (files.isFile(path)) io.out(`${path}\n`);
        else if (files.isDir(path)) for (const name of files.list(path)) io.out(`${name}\n`);
        else {
          io.err(`ls: cannot access '${path}': No such file or directory\n`);
          code = 2;
        }
      }
      return code;
    }
    case "test":
    case "[": {
      // The file tests kubectl cp asks (`test -d DEST`); anything else is false.
      const [op, path] = (cmd === "[" ? args.slice(0, -1) : args) as [string?, string?];
      const files = io.files ?? new PodFiles();
      if (path === undefined) return 1;
      const yes =
        op === "-d"
          ? files.isDir(path)
          : op === "-f"
            ? files.isFile(path)
            : op === "-e" && (files.isFile(path) || files.isDir(path));
      return yes ? 0 : 1;
    }
    case "env":
    case "printenv":
      for (const v of [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        `HOSTNAME=${io.pod}`,
        "HOME=/root",
        "KUBERNETES_SERVICE_HOST=172.20.0.1",
        "KUBERNETES_SERVICE_PORT=443",
      ]) {
        io.out(`${v}\n`);
      }
      return 0;
    case "hostname":
      io.out(`${io.pod}\n`);
      return 0;
    case "true":
      return 0;
    case "false":
      return 1;
    case "sleep":
      await sleepFor(Number(args[0] ?? 0) * 1000, io.signal);
      return 0;
    case "sh":
    case "bash":
    case "ash":
      if (args[0] === "-c") return runScript(args[1] ?? "", io);
      return interactive(io);
    default:
      io.err(`${cmd0 ?? ""}: command not found\n`);
      return 127;
  }
}

/**
 * `head -c BYTES /dev/zero|/dev/urandom`: that many bytes, in 64 KiB writes with a pause every MiB
 * so a big one (a pod flooding its terminal) streams instead of piling up in memory.
 */
async function head(args: string[], io: ProcIO): Promise<number> {
  const [flag, count, source] = args;
  const n = Number(count);
  if (
    flag !== "-c" ||
    !Number.isSafeInteger(n) ||
    n < 0 ||
    (source !== "/dev/zero" && source !== "/dev/urandom")
  ) {
    io.err("head: only head -c BYTES /dev/zero|/dev/urandom here\n");
    return 1;
  }
  const block = new Uint8Array(64 * 1024);
  for (let left = n, i = 0; left > 0 && !io.signal.aborted; left -= block.length, i++) {
    const part = left >= block.length ? block : block.subarray(0, left);
    io.out(source === "/dev/urandom" ? crypto.getRandomValues(new Uint8Array(part.length)) : part.slice());
    if (i % 16 === 15) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return 0;
}

/**
 * GNU tar's two modes `kubectl cp` uses: `tar -xmf - [-C DIR]` (to the pod, archive on stdin) and
 * `tar cf - PATH…` (from the pod, archive on stdout; names lose their leading "/", as GNU tar's do).
 */
async function tar(args: string[], io: ProcIO): Promise<number> {
  const files = io.files ?? new PodFiles();
  let mode: "x" | "c" | undefined;
  let dir = "/";
  const paths: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-C") dir = args[++i] ?? "/";
    else if (a.startsWith("--"))
      continue; // --no-same-owner, --no-same-permissions: nothing to keep here
    else if (/^-?[a-zA-Z]+$/.test(a) && mode === undefined && /[xc]/.test(a)) {
      mode = a.includes("x") ? "x" : "c";
      if (a.endsWith("f") && args[i + 1] === "-") i++;
    } else paths.push(a);
  }
  if (mode === "x") {
    const chunks: Uint8Array[] = [];
    for (let chunk = await io.read(); chunk; chunk = await io.read()) chunks.push(chunk);
    const archive = Buffer.concat(chunks);
    // A ustar header (what Go's archive/tar writes for kubectl) says so at offset 257; an archive of
    // only end blocks is an empty one.
    const isTar = archive.length >= 512 && archive.toString("latin1", 257, 262) === "ustar";
    if (!isTar && archive.some((b) => b !== 0)) {
      io.err(
        "tar: This does not look like a tar archive\ntar: Exiting with failure status due to previous errors\n",
      );
      return 2;
    }
    try {
      for (const { header, data } of isTar ? await unpackTar(archive) : []) {
        const type = header.type ?? "file";
        if (type === "directory") files.mkdir(`${dir}/${header.name}`);
        else if (type === "file") files.set(`${dir}/${header.name}`, data ?? new Uint8Array());
      }
    } catch (err) {
      io.err(`tar: ${(err as Error).message}\n`);
      return 2;
    }
    return 0;
  }
  if (mode === "c") {
    const items: { header: { name: string; size: number }; body: Uint8Array }[] = [];
    let code = 0;
    for (const p of paths) {
      const found = files.under(p.startsWith("/") ? p : `${dir}/${p}`);
      if (found.length === 0) {
        io.err(`tar: ${p}: Cannot stat: No such file or directory\n`);
        code = 2;
      }
      for (const [name, data] of found)
        items.push({ header: { name: normalize(name).slice(1), size: data.length }, body: data });
    }
    if (code !== 0) io.err("tar: Exiting with failure status due to previous errors\n");
    io.out(await packTar(items));
    return code;
  }
  io.err("tar: You must specify one of the '-Acdtrux', '--delete' or '--test-label' options\n");
  return 2;
}

class Exit {
  constructor(readonly code: number) {}
}

/** Runs a tiny shell script: statements split by `;`, `&&`, `||` or newlines; `>&2` redirects; `exit N`. */
export async function runScript(script: string, io: ProcIO): Promise<number> {
  let code = 0;
  try {
    for (const { words, op } of parse(script)) {
      if ((op === "&&" && code !== 0) || (op === "||" && code === 0)) continue;
      code = await statement(words, io);
    }
  } catch (e) {
    if (e instanceof Exit) return e.code;
    throw e;
  }
  return code;
}

async function statement(words: string[], io: ProcIO): Promise<number> {
  if (words.length === 0) return 0;
  if (words[0] === "exit") throw new Exit(Number(words[1] ?? 0) & 255);
  const toErr = words.some((w) => w === ">&2" || w === "1>&2");
  const argv = words.filter((w) => w !== ">&2" && w !== "1>&2");
  return run(argv, toErr ? { ...io, out: io.err } : io);
}

/** `sh` without -c: reads stdin line by line and runs each line until EOF or `exit`. */
async function interactive(io: ProcIO): Promise<number> {
  let buf = "";
  let code = 0;
  for (let chunk = await io.read(); chunk; chunk = await io.read()) {
    buf += new TextDecoder().decode(chunk).replaceAll("\r", "\n");
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        code = await runScript(line, io);
      } catch (e) {
        if (e instanceof Exit) return e.code;
        throw e;
      }
      if (/^\s*exit\b/.test(line)) return code;
    }
  }
  return code;
}

/** Splits a script into statements of words, honouring single and double quotes. */
function parse(script: string): { words: string[]; op: string }[] {
  const out: { words: string[]; op: string }[] = [];
  let words: string[] = [];
  let word: string | undefined;
  let op = ";";
  const endWord = () => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  const endStatement = (next: string) => {
    endWord();
    out.push({ words, op });
    words = [];
    op = next;
  };
  for (let i = 0; i < script.length; i++) {
    const c = script[i] ?? "";
    if (c === "'" || c === '"') {
      const end = script.indexOf(c, i + 1);
      const stop = end < 0 ? script.length : end;
      word = (word ?? "") + script.slice(i + 1, stop);
      i = stop;
    } else if (c === "\\" && i + 1 < script.length) {
      word = (word ?? "") + script[++i];
    } else if (c === ";" || c === "\n") endStatement(";");
    else if ((c === "&" || c === "|") && script[i + 1] === c) {
      endStatement(c + c);
      i++;
    } else if (c === " " || c === "\t") endWord();
    else word = (word ?? "") + c;
  }
  endStatement(";");
  return out;
}

function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}
