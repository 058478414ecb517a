-- A worker's beat: forget workers whose beats stopped (a crash), mark this one
-- alive on Redis's clock (so no two workers' clocks need to agree), note its
-- node, and give it the lowest colour slot no other serving worker holds, kept
-- for as long as it serves.
-- KEYS: alive (zset, score = last beat, ms), slots (hash), nodes (hash).
-- ARGV: worker, node, ttl (ms). Returns the worker's slot.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local worker, node, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('ZADD', KEYS[1], now, worker)
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
