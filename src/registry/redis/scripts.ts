// Lua scripts: each write checks the fence and the revision, bumps the counter, logs the change, stores.
// Every key a script touches is passed in KEYS and shares the `{prefix}` hash tag (one Cluster slot).

/**
 * The fence: a write made under a lease runs only while that exact lease ("<token>|<holder>|<session>")
 * is the lock's value. Comparing the whole value, not a token counter, means that neither a token
 * number handed out twice (a counter increment lost in a failover) nor a lapsed lease lets a
 * stale holder through; the lock key's own expiry ends the lease here, in the same step.
 */
const FENCE = `if fence ~= "" then
  local cur = redis.call("GET", KEYS[5])
  if cur ~= fence then
    return redis.error_reply("FENCED lease " .. fence .. " is not the lock's current lease (now " .. (cur or "free") .. ")")
  end
end`;

/** Stored hash values are "<revision>:<json>"; stream ids are "<revision>-0" so gaps show in the numbers. */
export const WRITE = `
-- KEYS: rev, kind hash, expiry zset, changes stream, fence lock
-- ARGV: mode (put|create|cas), kind, name, json, expires ms or "", expected revision, fence lease or "", now ms, maxlen
local mode, kind, name, json = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local expires, expected, fence, now, maxlen = ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8]), ARGV[9]
${FENCE}
local member = kind .. "\\n" .. name
if mode ~= "put" then
  local old = redis.call("HGET", KEYS[2], name)
  local live, oldrev = false, nil
  if old then
    local score = redis.call("ZSCORE", KEYS[3], member)
    live = (not score) or tonumber(score) > now
    oldrev = string.match(old, "^(%d+):")
  end
  if mode == "create" and live then return redis.error_reply("EXISTS already exists") end
  if mode == "cas" then
    if not live then return redis.error_reply("COMPARE does not exist") end
    if oldrev ~= expected then return redis.error_reply("COMPARE changed (revision " .. tostring(oldrev) .. ", expected " .. expected .. ")") end
  end
end
local rev = redis.call("INCR", KEYS[1])
redis.call("XADD", KEYS[4], "MAXLEN", "~", maxlen, rev .. "-0", "kind", kind, "name", name, "op", "put", "json", json)
redis.call("HSET", KEYS[2], name, rev .. ":" .. json)
if expires ~= "" then redis.call("ZADD", KEYS[3], expires, member) else redis.call("ZREM", KEYS[3], member) end
return rev
`;

export const DELETE = `
-- KEYS: rev, kind hash, expiry zset, changes stream, fence lock
-- ARGV: kind, name, fence lease or "", now ms, maxlen
local kind, name, fence, now, maxlen = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
${FENCE}
if redis.call("HEXISTS", KEYS[2], name) == 0 then return 0 end
local member = kind .. "\\n" .. name
local score = redis.call("ZSCORE", KEYS[3], member)
local live = (not score) or tonumber(score) > now
local rev = redis.call("INCR", KEYS[1])
redis.call("XADD", KEYS[4], "MAXLEN", "~", maxlen, rev .. "-0", "kind", kind, "name", name, "op", "delete")
redis.call("HDEL", KEYS[2], name)
redis.call("ZREM", KEYS[3], member)
if live then return 1 else return 0 end
`;

export const SWEEP = `
-- KEYS: rev, expiry zset, changes stream, then one hash per kind in ARGV order
-- ARGV: now ms, maxlen, kinds...
local now, maxlen = ARGV[1], ARGV[2]
local hashes = {}
for i = 3, #ARGV do hashes[ARGV[i]] = KEYS[i + 1] end
local due = redis.call("ZRANGEBYSCORE", KEYS[2], "-inf", now, "LIMIT", 0, 200)
for _, member in ipairs(due) do
  local kind, name = string.match(member, "^([^\\n]*)\\n(.*)$")
  redis.call("ZREM", KEYS[2], member)
  if kind and hashes[kind] and redis.call("HDEL", hashes[kind], name) == 1 then
    local rev = redis.call("INCR", KEYS[1])
    redis.call("XADD", KEYS[3], "MAXLEN", "~", maxlen, rev .. "-0", "kind", kind, "name", name, "op", "delete")
  end
end
return #due
`;

export const SNAPSHOT = `
-- KEYS: rev, then one hash per watched kind. Returns { rev, hgetall(kind 1), … } atomically.
local out = { redis.call("GET", KEYS[1]) or "0" }
for i = 2, #KEYS do out[i] = redis.call("HGETALL", KEYS[i]) end
return out
`;

export const ACQUIRE = `
-- KEYS: lock, token counter. ARGV: holder, session, ttl ms. Returns the new token, or nil when held
-- by another. A lease of this very holder and session (one its elector could not confirm, or whose
-- answer was lost) is taken again at once, with a new token.
local cur = redis.call("GET", KEYS[1])
if cur and string.match(cur, "^%d+|(.*)$") ~= ARGV[1] .. "|" .. ARGV[2] then return nil end
local token = redis.call("INCR", KEYS[2])
redis.call("SET", KEYS[1], token .. "|" .. ARGV[1] .. "|" .. ARGV[2], "PX", ARGV[3])
return token
`;

export const RENEW = `
-- KEYS: lock. ARGV: lease ("<token>|<holder>|<session>"), ttl ms. 1 while it is still the lock's lease.
if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
  return 1
end
return 0
`;

export const RELEASE = `
-- KEYS: lock. ARGV: holder, session. Deletes the lock only when its lease is this holder's and session's.
local cur = redis.call("GET", KEYS[1])
if cur and string.match(cur, "^%d+|(.*)$") == ARGV[1] .. "|" .. ARGV[2] then return redis.call("DEL", KEYS[1]) end
return 0
`;
