// The terminal a `kubectl exec -it` gets from a real container: a pty in canonical mode, as a shell
// leaves it (stty sane). kubectl puts the local terminal in raw mode and sends every key as typed,
// so echoing, line editing and Enter → newline happen here, as in the kernel's line discipline:
// ICANON (a line reaches the program when it ends), ECHO/ECHOE (typed keys and erases are shown),
// ICRNL (Enter's CR reads as NL), ISIG (^C interrupts), VEOF (^D ends input), ONLCR on output.

const CR = 0x0d;
const NL = 0x0a;
const INTR = 0x03; // ^C
const EOF = 0x04; // ^D
const KILL = 0x15; // ^U
const WERASE = 0x17; // ^W
const ERASE = new Set([0x7f, 0x08]); // DEL (what terminals send for Backspace) and ^H

export interface TtyHandlers {
  /** Bytes to show on the terminal (echo). */
  echo(bytes: Uint8Array): void;
  /** A finished line (or, after ^D mid-line, the partial line) for the program's stdin. */
  line(bytes: Uint8Array): void;
  /** ^D on an empty line: the program reads end of file. */
  eof(): void;
  /** ^C: the program is interrupted. */
  interrupt(): void;
}

const enc = new TextEncoder();

/** Canonical-mode input processing for one terminal. */
export class LineDiscipline {
  private pending: number[] = [];

  constructor(private readonly h: TtyHandlers) {}

  /** Keys from the terminal, as kubectl sends them (raw). */
  input(keys: Uint8Array): void {
    for (const k of keys) {
      if (k === INTR) {
        this.pending = [];
        this.h.echo(enc.encode("^C\r\n"));
        this.h.interrupt();
        return;
      }
      if (k === EOF) {
        // ^D sends what is typed so far without a newline; on an empty line it is end of file.
        if (this.pending.length === 0) {
          this.h.eof();
          return;
        }
        this.flush([]);
      } else if (k === CR || k === NL) {
        this.h.echo(enc.encode("\r\n"));
        this.flush([NL]);
      } else if (ERASE.has(k)) {
        this.rubout(1);
      } else if (k === KILL) {
        this.rubout(Number.POSITIVE_INFINITY);
      } else if (k === WERASE) {
        // The spaces before the cursor, then the word before them.
        this.rubout(Number.POSITIVE_INFINITY, (c) => c === 0x20);
        this.rubout(Number.POSITIVE_INFINITY, (c) => c !== 0x20);
      } else {
        this.pending.push(k);
        // Control characters echo as ^X (ECHOCTL), everything else as typed.
        this.h.echo(
          k < 0x20 && k !== 0x09 ? enc.encode(`^${String.fromCharCode(k + 0x40)}`) : Uint8Array.of(k),
        );
      }
    }
  }

  /** Erases up to `n` characters (a UTF-8 character whole) while `keep(last byte)` holds, on screen too. */
  private rubout(n: number, keep: (last: number) => boolean = () => true): void {
    let erased = 0;
    while (erased < n && this.pending.length && keep(this.pending[this.pending.length - 1]!)) {
      let b: number;
      do b = this.pending.pop()!;
      while ((b & 0xc0) === 0x80 && this.pending.length);
      erased++;
    }
    if (erased) this.h.echo(enc.encode("\b \b".repeat(erased)));
  }

  private flush(end: number[]): void {
    const line = Uint8Array.from([...this.pending, ...end]);
    this.pending = [];
    if (line.length) this.h.line(line);
  }
}

/** ONLCR: the program's "\n" reaches the terminal as "\r\n" (a lone "\n" would not return the cursor). */
export function outputNewlines(bytes: Uint8Array): Uint8Array {
  let extra = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === NL && bytes[i - 1] !== CR) extra++;
  if (extra === 0) return bytes;
  const out = new Uint8Array(bytes.length + extra);
  let j = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === NL && bytes[i - 1] !== CR) out[j++] = CR;
    out[j++] = bytes[i]!;
  }
  return out;
}
