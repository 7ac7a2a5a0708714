// Config loading: YAML text → schema check → Config with defaults; problems carry key paths and lines.
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { LineCounter, type Node, parseDocument } from "yaml";
import { formatBytes, parseByteSize } from "../lib/bytes.ts";
import { dedupeProblems } from "../lib/problems.ts";
import { schemaProblems } from "../lib/schema-problems.ts";
import { yamlLineOf } from "../lib/yaml-lines.ts";
import { ConfigError, type ConfigProblem, didYouMean, formatPath } from "./problems.ts";
import { configSchema, DEFAULT_LIMITS, KEY_HINTS, TELEPORT_ONLY_SECTIONS } from "./schema.ts";
import type { Config } from "./types.ts";

export const DEFAULT_CONFIG_PATH = "/etc/kubeport.yaml";
export const DEFAULT_DATA_DIR = "/var/lib/kubeport";

export interface ParseOptions {
  /** Environment for defaults ($KUBEPORT_DATA_DIR); process.env by default. */
  env?: Record<string, string | undefined>;
  /** Default for kubeport.nodename; os.hostname() by default. */
  hostname?: string;
}

/** The config path a command uses: the -c flag, else $KUBEPORT_CONFIG, else /etc/kubeport.yaml. */
export function configPath(
  flag: string | undefined,
  env: Record<string, string | undefined> = process.env,
): string {
  return flag || env.KUBEPORT_CONFIG || DEFAULT_CONFIG_PATH;
}

/** Reads and parses a config file. Throws ConfigError (a missing file included). */
export async function loadConfig(path: string, opts: ParseOptions = {}): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "file not found (pass -c FILE or set $KUBEPORT_CONFIG)"
        : code === "EISDIR"
          ? "is a directory, not a config file (pass -c FILE)"
          : (err as Error).message;
    throw new ConfigError(path, [{ path: "", message: why }]);
  }
  return parseConfig(text, path, opts);
}

/**
 * Parses YAML config text. Throws ConfigError listing every problem at once, each with its key
 * path (`discovery_service.aws[0].types[1]: "ekss" is not one of: eks`) and line when known.
 */
export function parseConfig(text: string, source = "config", opts: ParseOptions = {}): Config {
  const env = opts.env ?? process.env;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => ({
        path: "",
        message: `invalid YAML: ${e.message.split("\n")[0]}`,
        line: lineCounter.linePos(e.pos[0]).line,
      })),
    );
  }
  const raw: unknown = doc.toJS();
  if (raw === null || raw === undefined)
    throw new ConfigError(source, [
      { path: "", message: "the file is empty; it needs at least version: v1" },
    ]);
  const lineOf = yamlLineOf(doc.contents as Node | null, lineCounter);
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(source, [
      { path: "", message: "the file must be a YAML map (version: v1, kubeport: …)", line: 1 },
    ]);
  }
  // A role or user file passed as -c: say what it is instead of listing kind/metadata/spec as unknown keys.
  const kind = (raw as Record<string, unknown>).kind;
  if (typeof kind === "string" && ("spec" in raw || "metadata" in raw)) {
    throw new ConfigError(source, [
      {
        path: "",
        message: `this is a resource (kind: ${kind}), not a kubeport config: load it with kubeport ctl create -f FILE`,
        line: lineOf(["kind"], true),
      },
    ]);
  }

  const schema = configSchema({
    dataDir: env.KUBEPORT_DATA_DIR || DEFAULT_DATA_DIR,
    nodename: opts.hostname ?? hostname(),
  });
  const checked = schemaProblems(schema, raw, (word, known, parent) =>
    unknownKeyMessage(word, known, parent.length === 0),
  );
  const problems: ConfigProblem[] = checked.problems.map((p) => ({
    path: formatPath(p.segs),
    message: p.message,
    line: lineOf(p.segs, p.atKey),
  }));
  const result = checked.result;
  for (const { segs, message } of crossChecks(raw as Record<string, unknown>))
    problems.push({ path: formatPath(segs), message, line: lineOf(segs, false) });
  // In file order, so a reader fixes them top to bottom.
  problems.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
  if (problems.length > 0 || !result.success) throw new ConfigError(source, dedupeProblems(problems));
  return withDerivedDefaults(result.output as Config);
}

/** Defaults computed from other keys. */
function withDerivedDefaults(cfg: Config): Config {
  const k = cfg.kubeport;
  k.storage.path ??= join(k.data_dir, "registry.db");
  cfg.audit.sessions_uri ??= pathToFileURL(join(k.data_dir, "recordings")).href;
  const p = cfg.proxy_service;
  if (!p.public_addr) p.public_addr = p.listen_addr.replace(/^(0\.0\.0\.0|\[::\]|):/, "localhost:");
  else if (!hasPort(p.public_addr)) p.public_addr = `${p.public_addr}:${portOf(p.listen_addr)}`;
  return cfg;
}

/** True when `addr` ends in `:port` (a bracketed IPv6 host alone ends in `]`). */
function hasPort(addr: string): boolean {
  return /:\d+$/.test(addr);
}

/** The port of a host:port the schema already checked. */
function portOf(hostPort: string): string {
  return hostPort.slice(hostPort.lastIndexOf(":") + 1);
}

/** Checks spanning several keys, run on the raw document so they report alongside shape errors. */
function crossChecks(raw: Record<string, unknown>): { segs: (string | number)[]; message: string }[] {
  const out: { segs: (string | number)[]; message: string }[] = [];
  const rec = (x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x) ? (x as Record<string, unknown>) : {};
  const storage = rec(rec(raw.kubeport).storage);
  const base = ["kubeport", "storage"];
  const redisKeys = [
    "url",
    "sentinels",
    "name",
    "cluster_nodes",
    "username",
    "password",
    "password_file",
    "sentinel_username",
    "sentinel_password",
    "sentinel_password_file",
    "tls",
    "replica_acks",
  ].filter((k) => storage[k] !== undefined);
  if (storage.type === "redis") {
    const modes = [
      storage.url !== undefined,
      storage.sentinels !== undefined || storage.name !== undefined,
      storage.cluster_nodes !== undefined,
    ];
    const count = modes.filter(Boolean).length;
    if (count !== 1) {
      out.push({
        segs: base,
        message: `type redis needs exactly one of: url, sentinels + name, cluster_nodes (found ${count === 0 ? "none" : "several"})`,
      });
    } else if ((storage.sentinels === undefined) !== (storage.name === undefined)) {
      const missing = storage.name === undefined ? "name" : "sentinels";
      out.push({
        segs: [...base, missing],
        message: `is required with ${missing === "name" ? "sentinels (the master group name)" : "name"}`,
      });
    }
    for (const k of ["sentinel_username", "sentinel_password", "sentinel_password_file"]) {
      if (storage[k] !== undefined && storage.sentinels === undefined)
        out.push({ segs: [...base, k], message: "is only valid with sentinels" });
    }
    for (const k of ["password", "sentinel_password"]) {
      if (storage[k] !== undefined && storage[`${k}_file`] !== undefined)
        out.push({ segs: [...base, `${k}_file`], message: `set ${k} or ${k}_file, not both` });
    }
    const tls = rec(storage.tls);
    if ((tls.cert_file === undefined) !== (tls.key_file === undefined)) {
      const missing = tls.cert_file === undefined ? "cert_file" : "key_file";
      out.push({
        segs: [...base, "tls", missing],
        message: `is required with ${missing === "cert_file" ? "key_file" : "cert_file"} (a client certificate needs both)`,
      });
    }
  } else if (storage.type === undefined || storage.type === "sqlite") {
    for (const k of redisKeys) out.push({ segs: [...base, k], message: "is only valid with type: redis" });
  }
  const discovery = rec(raw.discovery_service);
  const enabled = discovery.enabled;
  const on =
    enabled === true ||
    (typeof enabled === "string" && ["yes", "on", "true", "y"].includes(enabled.toLowerCase()));
  // With a discovery_group, matchers may all come from discovery_config resources (picked up live).
  const group = typeof discovery.discovery_group === "string" ? discovery.discovery_group : "";
  const noMatchers =
    discovery.aws === undefined || (Array.isArray(discovery.aws) && discovery.aws.length === 0);
  if (on && noMatchers && group === "") {
    out.push({
      segs: ["discovery_service", "aws"],
      message:
        "needs at least one matcher when discovery_service is enabled (or a discovery_group, to take matchers from discovery_config resources)",
    });
  }
  const proxy = rec(raw.proxy_service);
  const listenPort = typeof proxy.listen_addr === "string" ? portOf(proxy.listen_addr) : undefined;
  if (typeof proxy.public_addr === "string" && !hasPort(proxy.public_addr) && listenPort === "0") {
    // The port a bare public_addr borrows would be 0, which no client can reach.
    out.push({
      segs: ["proxy_service", "public_addr"],
      message: "needs a port (host:port) when listen_addr picks a free port (:0)",
    });
  }
  const limits = rec(proxy.limits);
  const sizeOr = (x: unknown, d: number) => (x === undefined ? d : parseByteSize(x));
  const perSession = sizeOr(
    limits.ws_max_buffered_bytes_per_session,
    DEFAULT_LIMITS.ws_max_buffered_bytes_per_session,
  );
  const total = sizeOr(limits.ws_max_buffered_bytes_total, DEFAULT_LIMITS.ws_max_buffered_bytes_total);
  if (perSession !== undefined && total !== undefined && total < perSession) {
    out.push({
      segs: ["proxy_service", "limits", "ws_max_buffered_bytes_total"],
      message: `must be at least ws_max_buffered_bytes_per_session (${formatBytes(perSession)})`,
    });
  }
  return out;
}

function unknownKeyMessage(word: string, known: readonly string[], topLevel: boolean): string {
  if (topLevel && TELEPORT_ONLY_SECTIONS.has(word))
    return `unknown key; kubeport has no ${word}: remove the section`;
  // A hint applies wherever the key it names is known (teleport → kubeport at the top, …).
  const hints = Object.fromEntries(Object.entries(KEY_HINTS).filter(([, to]) => known.includes(to)));
  const guess = didYouMean(word, known, hints);
  return `unknown key${guess ? `; did you mean ${JSON.stringify(guess)}?` : ""}`;
}
