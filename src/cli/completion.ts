// Shell completion scripts for bash, zsh and fish, generated from the command table: the commands
// under each command path, their options (own and inherited), the options that take a value and
// the values some of them offer (-o json|yaml|wide|name …), and a command's positional words.
import { effectiveOptions } from "./args.ts";
import type { Command } from "./command.ts";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

/** One command path ("" for the root, "ctl tokens" …) and what may follow it. */
interface Node {
  path: string;
  subcommands: { name: string; summary: string }[];
  options: {
    long: string;
    short?: string;
    takesValue: boolean;
    choices?: readonly string[];
    description: string;
  }[];
  /** Words a positional argument may be (ctl get KIND). */
  positionals: readonly string[];
}

function nodes(root: Command): Node[] {
  const out: Node[] = [];
  const walk = (chain: Command[]) => {
    const cmd = chain.at(-1)!;
    out.push({
      path: chain
        .slice(1)
        .map((c) => c.name)
        .join(" "),
      subcommands: (cmd.subcommands ?? []).map((c) => ({ name: c.name, summary: c.summary })),
      options: Object.entries(effectiveOptions(chain)).map(([long, o]) => ({
        long,
        ...(o.short ? { short: o.short } : {}),
        takesValue: o.type === "string",
        ...(o.choices ? { choices: o.choices } : {}),
        description: o.description,
      })),
      positionals: cmd.completions ?? [],
    });
    for (const sub of cmd.subcommands ?? []) walk([...chain, sub]);
  };
  walk([root]);
  return out;
}

/** A word for a single-quoted shell string. */
const sq = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
const flags = (n: Node) => n.options.flatMap((o) => [`--${o.long}`, ...(o.short ? [`-${o.short}`] : [])]);
const valued = (n: Node) =>
  n.options.filter((o) => o.takesValue).flatMap((o) => [`--${o.long}`, ...(o.short ? [`-${o.short}`] : [])]);

/**
 * The per-path tables as shell functions bash and zsh share (POSIX case statements, no associative
 * arrays: macOS's bash 3.2 has none): subcommands, flags, flags that take a value, an option's
 * values, positional words.
 */
function tables(all: Node[], name: string): string {
  const fn = (fname: string, arms: [string, string[]][]) =>
    [
      `${fname}() {`,
      '  case "$1" in',
      ...arms.filter(([, w]) => w.length > 0).map(([p, w]) => `    ${sq(p)}) echo ${sq(w.join(" "))} ;;`),
      "  esac",
      "}",
    ].join("\n");
  const values: [string, string[]][] = all.flatMap((n) =>
    n.options
      .filter((o) => o.choices?.length)
      .flatMap((o) =>
        [`--${o.long}`, ...(o.short ? [`-${o.short}`] : [])].map(
          (f) => [`${n.path}|${f}`, [...o.choices!]] as [string, string[]],
        ),
      ),
  );
  return [
    fn(
      `_${name}_subs`,
      all.map((n) => [n.path, n.subcommands.map((s) => s.name)]),
    ),
    fn(
      `_${name}_flags`,
      all.map((n) => [n.path, flags(n)]),
    ),
    fn(
      `_${name}_valued`,
      all.map((n) => [n.path, valued(n)]),
    ),
    fn(`_${name}_values`, values),
    fn(
      `_${name}_positionals`,
      all.map((n) => [n.path, [...n.positionals]]),
    ),
    // The command path the words before the cursor name (options and their values skipped).
    `_${name}_path() {
  local cpath="" w skip=0
  for w in "$@"; do
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    case "$w" in
      --*=*) ;;
      -*) case " $(_${name}_valued "$cpath") " in *" $w "*) skip=1 ;; esac ;;
      *) case " $(_${name}_subs "$cpath") " in *" $w "*) cpath="\${cpath:+$cpath }$w" ;; esac ;;
    esac
  done
  echo "$cpath"
}`,
    // What may come at the cursor: an option's values after it, options after "-", else commands or positionals.
    `_${name}_candidates() {
  local cpath="$1" prev="$2" cur="$3"
  case "$prev" in
    -*) case " $(_${name}_valued "$cpath") " in *" $prev "*) _${name}_values "$cpath|$prev"; return ;; esac ;;
  esac
  case "$cur" in
    -*) _${name}_flags "$cpath" ;;
    *) echo "$(_${name}_subs "$cpath") $(_${name}_positionals "$cpath")" ;;
  esac
}`,
  ].join("\n\n");
}

function bash(all: Node[], name: string): string {
  return `# ${name} completion for bash, generated from its command table by \`${name} completion bash\`.
# Load it now:      source <(${name} completion bash)
# Or for every shell: ${name} completion bash > /etc/bash_completion.d/${name}

${tables(all, name)}

_${name}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" cpath
  [ "$COMP_CWORD" -gt 1 ] && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cpath="$(_${name}_path "\${COMP_WORDS[@]:1:COMP_CWORD-1}")"
  local words
  words="$(_${name}_candidates "$cpath" "$prev" "$cur")"
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
  # An option's value with nothing to offer (a FILE, a NAME): files, as bash would.
  if [ \${#COMPREPLY[@]} -eq 0 ] && [ -z "$words" ]; then COMPREPLY=($(compgen -f -- "$cur")); fi
}
complete -F _${name} ${name}
`;
}

function zsh(all: Node[], name: string): string {
  const described = all
    .filter((n) => n.subcommands.length > 0)
    .map(
      (n) =>
        `    ${sq(n.path)}) subs=(${n.subcommands.map((s) => sq(`${s.name}:${s.summary.replaceAll(":", "\\:")}`)).join(" ")}) ;;`,
    )
    .join("\n");
  return `#compdef ${name}
# ${name} completion for zsh, generated from its command table by \`${name} completion zsh\`.
# Load it now:      source <(${name} completion zsh)
# Or: ${name} completion zsh > "\${fpath[1]}/_${name}"   (then start a new shell)

${tables(all, name)}

_${name}() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}" cpath
  cpath="$(_${name}_path "\${(@)words[2,CURRENT-1]}")"
  # Commands with their summaries when the cursor is on a command word.
  if [[ "$cur" != -* ]] && ! [[ "$prev" == -* && " $(_${name}_valued "$cpath") " == *" $prev "* ]]; then
    local -a subs
    case "$cpath" in
${described}
    esac
    if (( \${#subs} )); then _describe -t commands "${name} command" subs; return; fi
  fi
  local cands
  cands="$(_${name}_candidates "$cpath" "$prev" "$cur")"
  if [[ -n "\${cands// /}" ]]; then compadd -- \${=cands}; else _files; fi
}
if [[ "$funcstack[1]" == _${name} ]]; then _${name} "$@"; else compdef _${name} ${name}; fi
`;
}

function fish(all: Node[], name: string): string {
  const lines: string[] = [];
  const sw = (fname: string, arms: [string, string[]][]) =>
    [
      `function ${fname}`,
      "    switch $argv[1]",
      ...arms
        .filter(([, w]) => w.length > 0)
        .map(([p, w]) => `        case ${sq(p)}\n            printf '%s\\n' ${w.map(sq).join(" ")}`),
      "    end",
      "end",
    ].join("\n");
  lines.push(
    `# ${name} completion for fish, generated from its command table by \`${name} completion fish\`.`,
    `# Load it now:      ${name} completion fish | source`,
    `# Or: ${name} completion fish > ~/.config/fish/completions/${name}.fish`,
    "",
    sw(
      `__${name}_subs`,
      all.map((n) => [n.path, n.subcommands.map((s) => s.name)]),
    ),
    sw(
      `__${name}_valued`,
      all.map((n) => [n.path, valued(n)]),
    ),
    `function __${name}_path
    set -l cpath ''
    set -l skip 0
    for w in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $w
            case '--*=*'
            case '-*'
                contains -- $w (__${name}_valued $cpath); and set skip 1
            case '*'
                if contains -- $w (__${name}_subs $cpath)
                    set cpath (string trim -- "$cpath $w")
                end
        end
    end
    echo $cpath
end`,
    `function __${name}_at
    test (__${name}_path) = "$argv[1]"
end`,
    "",
    `complete -c ${name} -f`,
  );
  for (const n of all) {
    const at = `-n ${sq(`__${name}_at ${sq(n.path)}`)}`;
    for (const s of n.subcommands)
      lines.push(`complete -c ${name} ${at} -a ${sq(s.name)} -d ${sq(s.summary)}`);
    if (n.positionals.length) lines.push(`complete -c ${name} ${at} -a ${sq(n.positionals.join(" "))}`);
    for (const o of n.options) {
      const value = o.takesValue ? (o.choices?.length ? ` -x -a ${sq(o.choices.join(" "))}` : " -r -F") : "";
      lines.push(
        `complete -c ${name} ${at}${o.short ? ` -s ${o.short}` : ""} -l ${o.long}${value} -d ${sq(o.description)}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The completion script of `root` for `shell`. */
export function completionScript(root: Command, shell: Shell): string {
  const all = nodes(root);
  if (shell === "bash") return bash(all, root.name);
  if (shell === "zsh") return zsh(all, root.name);
  return fish(all, root.name);
}
