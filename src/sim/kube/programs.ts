// The few commands a simulated container can run for exec/attach: echo, cat, env, sleep, sh -c, …

export interface ProcIO {
  out(text: string): void;
  err(text: string): void;
  /** Next stdin chunk, or undefined at EOF (or when stdin was not requested). */
  read(): Promise<Uint8Array | undefined>;
  signal: AbortSignal;
  pod: string;
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
    case "cat":
      for (let chunk = await io.read(); chunk; chunk = await io.read())
        io.out(new TextDecoder().decode(chunk));
      return 0;
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
