// A Redis stream append with retention (the audit stream): one Lua script adds the batch, trims by
// age, and over the cap deletes the sheddable entries of the owner holding the most, oldest first.
import type { StreamRetention } from "../types.ts";
import type { RedisClient } from "./client.ts";

/**
 * KEYS: the stream, its owners zset (owner → sheddable entries held); each owner's entry ids are a
 * list at `<stream>:o:<owner>` (same hash tag, so one Cluster slot).
 * ARGV: cap, min id ms (0: no age limit), n, then n pairs (json, owner or "").
 */
const APPEND = `
local stream, owners = KEYS[1], KEYS[2]
local cap, minms, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local function ms(id) return tonumber(string.match(id, "^(%d+)")) end
-- Drops ids below the age limit from the head of an owner's list (they left the stream already).
local function prune(owner)
  local list = stream .. ":o:" .. owner
  local dropped = 0
  while minms > 0 do
    local head = redis.call("LINDEX", list, 0)
    if not head or ms(head) >= minms then break end
    redis.call("LPOP", list)
    dropped = dropped + 1
  end
  if dropped > 0 then
    if redis.call("LLEN", list) == 0 then redis.call("ZREM", owners, owner)
    else redis.call("ZINCRBY", owners, -dropped, owner) end
  end
end
for i = 0, n - 1 do
  local json, owner = ARGV[4 + 2 * i], ARGV[5 + 2 * i]
  local id = redis.call("XADD", stream, "*", "e", json)
  if owner ~= "" then
    redis.call("RPUSH", stream .. ":o:" .. owner, id)
    redis.call("ZINCRBY", owners, 1, owner)
  end
end
if minms > 0 then
  redis.call("XTRIM", stream, "MINID", minms .. "-0")
  -- Owners that stopped writing are pruned too, one picked at random per batch.
  local some = redis.call("ZRANDMEMBER", owners, 2)
  for _, owner in ipairs(some) do prune(owner) end
end
local len = redis.call("XLEN", stream)
if len <= cap then return 0 end
local target = math.floor(cap * 0.9)
local shed = 0
while len > target do
  local top = redis.call("ZREVRANGE", owners, 0, 0, "WITHSCORES")
  if #top == 0 or tonumber(top[2]) <= 0 then break end
  local owner, list = top[1], stream .. ":o:" .. top[1]
  local ids = redis.call("LPOP", list, math.min(len - target, tonumber(top[2]), 1000))
  if not ids then
    redis.call("ZREM", owners, owner)
  else
    local gone = redis.call("XDEL", stream, unpack(ids))
    len = len - gone
    shed = shed + gone
    if redis.call("LLEN", list) == 0 then redis.call("ZREM", owners, owner)
    else redis.call("ZINCRBY", owners, -#ids, owner) end
  end
end
if len > cap then redis.call("XTRIM", stream, "MAXLEN", target) end
return shed
`;

export type StreamAppend = (
  stream: string,
  rows: readonly string[],
  owners: readonly (string | undefined)[] | undefined,
  retention: StreamRetention,
  now: number,
) => Promise<void>;

/** Registers the script on `client` (EVALSHA, EVAL on a miss) and returns the append. */
export function defineStreamAppend(client: RedisClient, streamKey: (s: string) => string): StreamAppend {
  client.defineCommand("kubeportStreamAppend", { numberOfKeys: 2, lua: APPEND });
  const fn = (client as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)
    .kubeportStreamAppend!;
  return async (stream, rows, owners, { maxAgeMs, maxEntries }, now) => {
    const key = streamKey(stream);
    const args: (string | number)[] = [
      key,
      `${key}:owners`,
      maxEntries,
      maxAgeMs > 0 ? now - maxAgeMs : 0,
      rows.length,
    ];
    for (let i = 0; i < rows.length; i++) args.push(rows[i]!, owners?.[i] ?? "");
    await fn.apply(client, args);
  };
}
