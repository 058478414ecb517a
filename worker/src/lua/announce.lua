-- A worker's beat: forget workers whose beats stopped (a crash), mark this one
-- alive on Redis's clock (so no two workers' clocks need to agree), note its
-- node, and give it the lowest colour slot no other serving worker holds, kept
-- for as long as it serves. Workers whose last beat is older than the fold age
-- have their counts folded into one entry ("earlier workers") of the
-- per-worker hash, so it holds the workers there are, not all that ever ran;
-- the entries' sum stays the total. (An id's credit moves between workers only
-- while the id is remembered, 80 s at most: never to or from a folded worker.)
-- KEYS: alive (zset, score = last beat, ms), slots (hash), nodes (hash), seen
-- (zset, score = last beat, ms), per-worker counts (hash).
-- ARGV: worker, node, ttl (ms), fold age (ms), the earlier workers' entry.
-- Returns the worker's slot.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local worker, node, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local foldAge, earlier = tonumber(ARGV[4]), ARGV[5]
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('ZADD', KEYS[1], now, worker)
redis.call('ZADD', KEYS[4], now, worker)
-- Once: counts kept from before workers were seen (an older version) start
-- their age now. The earlier workers' entry, seen at +inf (never folded), marks it done.
if not redis.call('ZSCORE', KEYS[4], earlier) then
  for _, counted in ipairs(redis.call('HKEYS', KEYS[5])) do
    if counted ~= earlier then redis.call('ZADD', KEYS[4], 'NX', now, counted) end
  end
  redis.call('ZADD', KEYS[4], '+inf', earlier)
end
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now - foldAge, 'LIMIT', 0, 100)) do
  local hits = tonumber(redis.call('HGET', KEYS[5], gone) or '0')
  if hits ~= 0 then redis.call('HINCRBY', KEYS[5], earlier, hits) end
  redis.call('HDEL', KEYS[5], gone)
  redis.call('ZREM', KEYS[4], gone)
end
redis.call('HSET', KEYS[3], worker, node)
local used, slot = {}, nil
local slots = redis.call('HGETALL', KEYS[2])
for i = 1, #slots, 2 do
  local other, held = slots[i], tonumber(slots[i + 1])
  if other == worker then slot = held
  elseif redis.call('ZSCORE', KEYS[1], other) then used[held] = true
  else redis.call('HDEL', KEYS[2], other); redis.call('HDEL', KEYS[3], other) end
end
if slot == nil then
  slot = 0
  while used[slot] do slot = slot + 1 end
  redis.call('HSET', KEYS[2], worker, slot)
end
return slot
