// `kubeport ctl lock --user U | --role R | --cluster C`: refuse someone at once (like tctl lock).
import { formatDuration, parseDuration } from "../../lib/duration.ts";
import { type Lock, type LockTarget, type Resource, resourceProblems } from "../../registry/index.ts";
import { stringOpt, UsageError } from "../args.ts";
import type { Command } from "../command.ts";
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
    user: { type: "string", valueName: "USER", description: "a kubeport user, or an OIDC username" },
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
    const stored = await (await ctx.backend()).create(lock);
    if (format !== "text") return void ctx.out(renderData(format, stored));
    ctx.out(
      `Created a lock with name "${lock.metadata.name}" (${formatLockTarget(target)}${ttl ? `, for ${formatDuration(ttl)}` : ""}).\n` +
        `Lift it: kubeport ctl rm lock/${lock.metadata.name}\n`,
    );
  },
};

/** The lock table for `ctl get lock`. */
export const renderLocks = (items: Resource[]): string => renderTable(LOCK_HEADERS, formatLockRows(items));
