// Asking the person at the terminal: a line, or a secret without echo. Without a terminal (a pipe,
// a test) lines are read from stdin in order.
import { createInterface } from "node:readline";

let piped: AsyncIterator<string> | undefined;

/** Reads one line from stdin when it is not a terminal. */
async function pipedLine(): Promise<string> {
  piped ??= createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]();
  const next = await piped.next();
  if (next.done) throw new Error("no more input on stdin");
  return next.value;
}

/** Prompts on stderr (stdout may be a file or kubectl's pipe) and reads a line. */
export async function ask(question: string, { secret = false } = {}): Promise<string> {
  process.stderr.write(question);
  if (!process.stdin.isTTY) return pipedLine();
  if (!secret) {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    return new Promise((resolve) =>
      rl.question("", (a) => {
        rl.close();
        resolve(a);
      }),
    );
  }
  // No echo: raw mode, reading keys until Enter.
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    let value = "";
    stdin.setRawMode(true);
    stdin.resume();
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      err ? reject(err) : resolve(value);
    };
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") return done(new Error("interrupted"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else if (ch >= " ") value += ch;
      }
    };
    stdin.on("data", onData);
  });
}
