import { describe, expect, test } from "bun:test";
import { LineDiscipline, outputNewlines } from "./tty.ts";

/** Feeds `keys` (one write each) and returns what the terminal showed and what the program read. */
function type(...keys: string[]) {
  const dec = new TextDecoder();
  const out = { screen: "", lines: [] as string[], eof: false, interrupted: false };
  const tty = new LineDiscipline({
    echo: (b) => {
      out.screen += dec.decode(b, { stream: true });
    },
    line: (b) => void out.lines.push(dec.decode(b)),
    eof: () => {
      out.eof = true;
    },
    interrupt: () => {
      out.interrupted = true;
    },
  });
  for (const k of keys) tty.input(new TextEncoder().encode(k));
  return out;
}

describe("LineDiscipline (a pty in canonical mode, as `exec -it` gets)", () => {
  test.each([
    [
      "typed keys are echoed; Enter (CR) echoes a new line and hands over the line with NL",
      ["hi", "\r"],
      "hi\r\n",
      ["hi\n"],
    ],
    ["one write may hold many lines", ["a\rb\r"], "a\r\nb\r\n", ["a\n", "b\n"]],
    [
      "Backspace (DEL) erases a character on screen and in the line",
      ["helo\x7flo\r"],
      "helo\b \blo\r\n",
      ["hello\n"],
    ],
    ["^H erases too; nothing to erase shows nothing", ["\x08a\x08b\r"], "a\b \bb\r\n", ["b\n"]],
    ["a UTF-8 character is erased whole", ["né\x7fe\r"], "né\b \be\r\n", ["ne\n"]],
    ["^U erases the line", ["abc\x15x\r"], "abc\b \b\b \b\b \bx\r\n", ["x\n"]],
    ["^W erases the last word", ["one two\x17three\r"], "one two\b \b\b \b\b \bthree\r\n", ["one three\n"]],
    ["^D mid-line hands over what is typed, without a newline", ["abc\x04"], "abc", ["abc"]],
  ])("%s", (_, keys, screen, lines) => {
    const out = type(...keys);
    expect(out.screen).toBe(screen);
    expect(out.lines).toEqual(lines);
    expect(out.eof).toBe(false);
  });

  test("^D on an empty line is end of input; ^C echoes ^C and interrupts, dropping the line", () => {
    expect(type("x\r", "\x04")).toMatchObject({ lines: ["x\n"], eof: true });
    expect(type("half", "\x03")).toMatchObject({ screen: "half^C\r\n", lines: [], interrupted: true });
  });

  test("other control keys echo as ^X", () => {
    expect(type("\x1b\r").screen).toBe("^[\r\n");
  });
});

test("outputNewlines: NL reaches the terminal as CR NL, an existing CR NL is left alone", () => {
  const t = (s: string) => new TextDecoder().decode(outputNewlines(new TextEncoder().encode(s)));
  expect(t("a\nb\n")).toBe("a\r\nb\r\n");
  expect(t("a\r\nb")).toBe("a\r\nb");
  expect(t("plain")).toBe("plain");
});
