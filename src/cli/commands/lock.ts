// `kubeport ctl lock --user U | --role R | --cluster C`: refuse someone at once (like tctl lock).

import { oidcPrefixes } from "../../gateway/index.ts";
import { formatDuration, parseDuration } from "../../lib/duration.ts";
import {
  type Backend,
  type Lock,
  type LockTarget,
  type Resource,
  resourceProblems,
} from "../../registry/index.ts";
import { stringOpt, UsageError } from "../args.ts";
import type { Command, CommandContext } from "../command.ts";
import { age, parseFormat, renderData, renderTable } from "../output.ts";

export const LOCK_HEADERS = ["NAME", "TARGET", "MESSAGE", "EXPIRES", "AGE"];

/** `user=alice,cluster=prod`: a lock's target in one cell. */
export const formatLockTarget = (t: LockTarget): string =>
  (["user", "role", "cluster"] as const)
    .filter((k) => t[k] !== undefined)
    .map((k) => `${k}=${t[k]}`)
    .join(",");

/** Lock rows for `ctl get lock`: name, target, message, expiry (with time left), age. */
export function formatLockRows(items: Resource[], now = Date.now()): string[][] {
  return items.map((r) => {
    const l = r as Lock;
    // Stored past validation: the gateway treats it as locking everyone, and so says this row.
    if (resourceProblems(l).length > 0)
      return [l.metadata.name, "UNREADABLE (locks everyone)", "-", "-", "-"];
    const exp = l.metadata.expires;
    const left = exp ? Date.parse(exp) - now : undefined;
    return [
      l.metadata.name,
      formatLockTarget(l.spec.target),
      l.spec.message || "-",
      exp ? `${exp} (${left !== undefined && left > 0 ? formatDuration(left) : "expired"})` : "never",
      age(l.spec.created),
    ];
  });
}

export const lockCommand: Command = {
  name: "lock",
  summary: "Lock out a user, a role or a cluster: new requests get 403, open streams end.",
  options: {
    user: {
      type: "string",
      valueName: "USER",
      description:
        "a kubeport user, or an OIDC person: their username claim (any issuer) or full prefixed name",
    },
    role: { type: "string", valueName: "ROLE", description: "everyone holding this role" },
    cluster: { type: "string", valueName: "CLUSTER", description: "everyone, on this kube_cluster" },
    message: { type: "string", valueName: "TEXT", description: "told to the people it refuses" },
    ttl: {
      type: "string",
      valueName: "DURATION",
      description: "lift the lock after this long (default: never)",
    },
    format: { type: "string", valueName: "FMT", description: "text, yaml or json", default: "text" },
  },
  help: [
    "Every gateway refuses matching requests (403 with the message) and ends matching open exec,",
    "attach, port-forward, watch and logs -f streams within a second. Several targets together lock",
    "only where all match (--user alice --cluster prod: alice on prod). Lift it with ctl rm lock/NAME.",
    "Examples:",
    '  kubeport ctl lock --user alice --message "laptop stolen, call security" --ttl 24h',
    '  kubeport ctl lock --cluster prod-eks --message "change freeze"',
    "  kubeport ctl get lock",
    "  kubeport ctl rm lock/NAME",
  ].join("\n"),
  async run(ctx) {
    const target: LockTarget = {};
    for (const k of ["user", "role", "cluster"] as const) {
      const value = stringOpt(ctx.values, k);
      if (value !== undefined) {
        if (value.trim() === "") throw new UsageError(`--${k}: must not be empty`);
        target[k] = value;
      }
    }
    if (Object.keys(target).length === 0) throw new UsageError("give --user, --role or --cluster");
    const ttlText = stringOpt(ctx.values, "ttl");
    const ttl = ttlText === undefined ? undefined : parseDuration(ttlText);
    if (ttlText !== undefined && !ttl)
      throw new UsageError(`--ttl: "${ttlText}" is not a duration (e.g. 30m, 1h)`);
    const format = parseFormat(stringOpt(ctx.values, "format"));
    const message = stringOpt(ctx.values, "message");
    const now = Date.now();
    const lock: Lock = {
      kind: "lock",
      version: "v1",
      // A random name, as Teleport's: several locks may target the same user.
      metadata: {
        name: crypto.randomUUID(),
        ...(ttl ? { expires: new Date(now + ttl).toISOString() } : {}),
      },
      spec: { target, ...(message ? { message } : {}), created: new Date(now).toISOString() },
    };
    const backend = await ctx.backend();
    if (target.user !== undefined) ctx.err(await whomUserLocks(ctx, backend, target.user));
    const stored = await backend.create(lock);
    if (format !== "text") return void ctx.out(renderData(format, stored));
    ctx.out(
      `Created a lock with name "${lock.metadata.name}" (${formatLockTarget(target)}${ttl ? `, for ${formatDuration(ttl)}` : ""}).\n` +
        `Lift it: kubeport ctl rm lock/${lock.metadata.name}\n`,
    );
  },
};

/**
 * What `--user NAME` will lock, said when it is not simply a kubeport user: a lock's user matches a
 * kubeport user of that name, an OIDC person's username claim as the issuer sends it (from any
 * issuer), and an OIDC person's full prefixed name. "" when NAME is a kubeport user.
 */
async function whomUserLocks(ctx: CommandContext, backend: Backend, name: string): Promise<string> {
  if (await backend.get("user", name)) return "";
  const issuers = (await ctx.config()).proxy_service.oidc;
  const q = JSON.stringify(name);
  if (issuers.length === 0)
    return `warning: there is no kubeport user ${q} and no OIDC issuer is configured: this lock matches nobody now (kubeport ctl users ls lists the users)\n`;
  const forms = issuers.map((o) => {
    const prefix = oidcPrefixes(o).username;
    return `  ${JSON.stringify(prefix && !name.startsWith(prefix) ? prefix + name : name)} (${o.issuer_url}, username_claim ${o.username_claim})`;
  });
  return (
    `note: there is no kubeport user ${q}; the lock matches any OIDC person whose ${issuers
      .map((o) => o.username_claim)
      .filter((c, i, a) => a.indexOf(c) === i)
      .join(" or ")} claim is ${q} ` +
    `(from any issuer) or whose name is ${q}. The names the clusters see for it:\n${forms.join("\n")}\n`
  );
}

/** The lock table for `ctl get lock`. */
export const renderLocks = (items: Resource[]): string => renderTable(LOCK_HEADERS, formatLockRows(items));
