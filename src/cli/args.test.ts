import { describe, expect, test } from "bun:test";
import { parseKeyValues, parseList, route, UsageError } from "./args.ts";
import type { Command } from "./command.ts";

const leaf = (name: string, options: Command["options"] = {}): Command => ({
  name,
  summary: name,
  options,
  run: async () => {},
});
const root: Command = {
  name: "kp",
  summary: "root",
  subcommands: [
    leaf("version"),
    {
      name: "ctl",
      summary: "ctl",
      options: { config: { type: "string", short: "c", description: "config" } },
      subcommands: [
        leaf("get", { format: { type: "string", description: "fmt", default: "text" } }),
        {
          name: "tokens",
          summary: "t",
          subcommands: [leaf("add", { type: { type: "string", description: "roles" } })],
        },
      ],
    },
  ],
};

describe("route", () => {
  test.each<[string[], string[], Record<string, unknown>, string[]]>([
    [["version"], ["kp", "version"], {}, []],
    [["ctl", "get", "kube_cluster"], ["kp", "ctl", "get"], { format: "text" }, ["kube_cluster"]],
    [
      ["ctl", "-c", "f.yaml", "get", "x", "--format", "json"],
      ["kp", "ctl", "get"],
      { config: "f.yaml", format: "json" },
      ["x"],
    ],
    [["ctl", "get", "-c", "f.yaml", "x"], ["kp", "ctl", "get"], { config: "f.yaml", format: "text" }, ["x"]],
    [["ctl", "tokens", "add", "--type=kube"], ["kp", "ctl", "tokens", "add"], { type: "kube" }, []],
    [["ctl"], ["kp", "ctl"], {}, []],
  ])("%p", (argv, chain, values, positionals) => {
    const r = route(root, argv);
    expect(r.chain.map((c) => c.name)).toEqual(chain);
    expect(r.values).toEqual(values as never);
    expect(r.positionals).toEqual(positionals);
  });

  test.each([
    [
      ["ctl", "tokens", "add", "-h"],
      ["kp", "ctl", "tokens", "add"],
    ],
    [
      ["ctl", "--help"],
      ["kp", "ctl"],
    ],
    [
      ["ctl", "get", "--nope", "--help"],
      ["kp", "ctl", "get"],
    ],
  ])("--help on %p", (argv, chain) => {
    const r = route(root, argv);
    expect(r.help).toBe(true);
    expect(r.chain.map((c) => c.name)).toEqual(chain);
  });

  test.each([
    [["nope"], 'unknown command "nope" for "kp"'],
    [["ctl", "tokens", "rm"], 'unknown command "rm" for "kp ctl tokens"'],
    [["ctl", "get", "--nope"], "Unknown option '--nope'"],
    [["ctl", "get", "--format"], "--format"],
  ])("%p is a usage error", (argv, message) => {
    expect(() => route(root, argv)).toThrow(UsageError);
    expect(() => route(root, argv)).toThrow(message);
  });
});

describe("value helpers", () => {
  test("parseKeyValues", () => {
    expect(parseKeyValues("env=prod, team = a ,x=", "tags")).toEqual({ env: "prod", team: "a", x: "" });
    expect(() => parseKeyValues("env", "tags")).toThrow('--tags: "env" is not key=value');
  });
  test("parseList", () => {
    expect(parseList("a, b,,c")).toEqual(["a", "b", "c"]);
  });
});
