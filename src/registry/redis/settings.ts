// The Redis settings an HA pair relies on, read from the registry's primary at start (CONFIG GET):
// each missing one is a sentence naming it, for `start` to log as a warning.
import { describeError } from "../../lib/errors.ts";
import type { DirectConnection } from "./direct.ts";

export interface RedisSettingsOptions {
  direct: DirectConnection;
  /** Replicas each durable write waits for (0: none expected). */
  acks: number;
}

const configValue = (reply: unknown): string | undefined =>
  Array.isArray(reply) && reply.length >= 2 ? String(reply[1]) : undefined;

/**
 * `min-replicas-to-write` ≥ 1 (with replicas): a primary cut off from its replica refuses writes
 * instead of taking ones a failover then discards. `appendonly yes`: a restart of every node keeps
 * the registry. A Redis that refuses CONFIG (managed services) is named too: check them by hand.
 */
export async function checkRedisSettings({ direct, acks }: RedisSettingsOptions): Promise<string[]> {
  let res: [Error | null, unknown][];
  try {
    res = await direct.exec(
      "settings check",
      (p) => {
        p.call("CONFIG", "GET", "min-replicas-to-write");
        p.call("CONFIG", "GET", "appendonly");
      },
      5000,
    );
  } catch (err) {
    return [
      `could not read the Redis settings (${describeError(err)}); check min-replicas-to-write and appendonly by hand`,
    ];
  }
  const at = direct.address() ?? "the primary";
  const [minErr, minReply] = res[0] ?? [new Error("no answer")];
  const [aofErr, aofReply] = res[1] ?? [new Error("no answer")];
  if (minErr || aofErr)
    return [
      `Redis at ${at} refused CONFIG GET (${(minErr ?? aofErr)!.message}); check by hand that every node has ${
        acks > 0 ? `min-replicas-to-write ${acks} and ` : ""
      }appendonly yes`,
    ];
  const out: string[] = [];
  const minReplicas = Number(configValue(minReply) ?? 0);
  if (acks > 0 && !(minReplicas >= acks))
    out.push(
      `Redis min-replicas-to-write is ${minReplicas} on ${at}: a primary cut off from its replica keeps taking writes that a failover then discards (kubeport reports them as not confirmed, exit 3, but other clients would not know); set min-replicas-to-write ${acks} and min-replicas-max-lag 10 on every node`,
    );
  if (configValue(aofReply) !== "yes")
    out.push(
      `Redis appendonly is ${configValue(aofReply) ?? "unknown"} on ${at}: if every node restarts at once the registry (users, roles, signing keys) is gone; set appendonly yes on every node`,
    );
  return out;
}
