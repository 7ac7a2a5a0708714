// `kubeport completion bash|zsh|fish`, generated from the command table: the bash script sourced in
// a real bash completes as the shell would (COMP_WORDS/COMP_CWORD → COMPREPLY); zsh and fish scripts
// are checked by those shells when they are installed (CI has bash; zsh and fish are optional).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commands, ctlCommands } from "../../src/cli/commands/index.ts";
import { runCliCaptured } from "../helpers/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "kp-completion-"));
const scripts: Record<string, string> = {};
beforeAll(async () => {
  for (const shell of ["bash", "zsh", "fish"]) {
    const r = await runCliCaptured(["completion", shell]);
    expect(r.code).toBe(0);
    scripts[shell] = join(dir, `kubeport.${shell}`);
    writeFileSync(scripts[shell]!, r.stdout);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sh = (shell: string, script: string) =>
  Bun.spawnSync([shell, "-c", script], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir },
    cwd: dir,
  });

describe("bash", () => {
  /** COMPREPLY for the words before the cursor plus the word being completed (the last). */
  const complete = (...words: string[]) => {
    const arr = words.map((w) => `'${w}'`).join(" ");
    const r = sh(
      "bash",
      `source ${scripts.bash}; COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _kubeport; printf '%s\\n' "\${COMPREPLY[@]}"`,
    );
    expect(r.stderr.toString()).toBe("");
    return r.stdout.toString().split("\n").filter(Boolean);
  };

  test("sourced, it registers `complete -F _kubeport kubeport`", () => {
    const r = sh("bash", `source ${scripts.bash}; complete -p kubeport`);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString()).toBe("complete -F _kubeport kubeport\n");
  });

  test.each([
    [["kubeport", "ct"], ["ctl"]],
    [
      ["kubeport", "lo"],
      ["login", "logout"],
    ],
    [["kubeport", "ctl", "tok"], ["tokens"]],
    [["kubeport", "ctl", "-c", "x.yaml", "us"], ["users"]],
    [
      ["kubeport", "ctl", "get", "-o", ""],
      ["json", "yaml", "wide", "name"],
    ],
    [["kubeport", "ctl", "get", "kube_c"], ["kube_cluster"]],
    [["kubeport", "ctl", "users", "ls", "--out"], ["--output"]],
    [
      ["kubeport", "completion", ""],
      ["bash", "zsh", "fish"],
    ],
    [["kubeport", "kube", "ls", "-o", "w"], ["wide"]],
  ])("%p completes to %p", (words, want) => {
    expect(complete(...words)).toEqual(want);
  });

  test("every command of the table is offered where it lives", () => {
    expect(complete("kubeport", "").sort()).toEqual(commands.map((c) => c.name).sort());
    expect(complete("kubeport", "ctl", "").sort()).toEqual(ctlCommands.map((c) => c.name).sort());
  });

  test("a value with nothing to offer completes file names", () => {
    writeFileSync(join(dir, "alice.kubeconfig"), "");
    expect(complete("kubeport", "kubeconfig", "--out", "alice.k")).toEqual(["alice.kubeconfig"]);
  });
});

describe.skipIf(!Bun.which("zsh"))("zsh (installed here)", () => {
  test("the script parses, and its tables answer as bash's do", () => {
    expect(sh("zsh", `zsh -n ${scripts.zsh}`).exitCode).toBe(0);
    const r = sh(
      "zsh",
      `compdef() { :; }; source ${scripts.zsh}; p=$(_kubeport_path ctl -c x.yaml); echo "[$p]"; _kubeport_candidates "$p" x tok; _kubeport_candidates "ctl get" -o ""`,
    );
    expect(r.stderr.toString()).toBe("");
    const out = r.stdout.toString();
    expect(out).toContain("[ctl]");
    expect(out).toContain("tokens");
    expect(out).toContain("json yaml wide name");
  });
});

describe.skipIf(!Bun.which("fish"))("fish (installed here)", () => {
  test("fish completes kubeport ct to ctl, and -o's values", () => {
    const r = sh(
      "fish",
      `source ${scripts.fish}; complete -C 'kubeport ct'; complete -C 'kubeport ctl get -o '; complete -C 'kubeport ctl to'`,
    );
    expect(r.stderr.toString()).toBe("");
    const out = r.stdout.toString();
    expect(out).toMatch(/^ctl\t/m);
    expect(out).toMatch(/^wide\t/m);
    expect(out).toMatch(/^tokens\t/m);
  });
});

test("a shell kubeport does not complete is a usage error", async () => {
  const none = await runCliCaptured(["completion"]);
  expect(none.code).toBe(2);
  expect(none.stderr).toContain("missing the shell: bash, zsh, fish");
  const ps = await runCliCaptured(["completion", "powershell"]);
  expect(ps.code).toBe(2);
  expect(ps.stderr).toContain('"powershell" is not a shell kubeport completes: bash, zsh, fish');
});
