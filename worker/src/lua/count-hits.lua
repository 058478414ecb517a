-- Counts the hits one worker read in one turn of its event loop, each once by
-- its id, in one call: the total and the per-worker counts move together (the
-- total always equals the sum per worker), and Redis pays its per-call cost
-- once per batch. Ids are kept in one hash per window of time, which expires
-- whole: no expiry, and no DEL in the AOF, per hit.
-- - A repeat (nginx tried the hit again on another worker after the first had
--   counted it, a worker tried it again after a lost reply, or it came twice in
--   one batch) answers the number it got before, and the per-worker credit
--   moves to the worker answering now, the one the client sees.
-- - A call that runs after the batch's deadline (it waited in a stalled Redis
--   while the worker gave up) changes nothing, so a hit the worker answered
--   503 is never counted later.
-- - The live view's recent hits are kept beside the count, bounded: the most
--   recent ("number worker", newest first, whoever sent them) in a capped list.
--   (Each second's hits per worker, the live view's chart, each worker writes
--   itself once a second: live-view/history.ts, SecondTally.)
-- KEYS: total, per-worker hash, recent hits list. (The windows' keys come from
-- Redis's clock, so the script names them itself: fine on one primary, not on a
-- cluster.)
-- ARGV: worker, deadline (ms, on Redis's clock), window seconds, window key
-- prefix, the windows to look in as offsets from the current one ("0,-1,-2,1",
-- the current first: worker/src/counter/id-windows.ts), recent hits kept, then the
-- hits' ids. Returns {number, worker's count, how} for each hit in turn, flat; nil
-- when refused. how: 1 counted by this call; 2 counted before and credited to
-- this worker already (its own earlier try, whose reply may have been lost, or
-- the same id earlier in this batch); 0 counted before, credit moved here.
local clock = redis.call('TIME')
local now = tonumber(clock[1])
if now * 1000 + math.floor(tonumber(clock[2]) / 1000) > tonumber(ARGV[2]) then return nil end
local worker, width, prefix = ARGV[1], tonumber(ARGV[3]), ARGV[4]
local recentKept = tonumber(ARGV[6])
local window = math.floor(now / width)
local current = prefix .. window
local windows = {}
for offset in string.gmatch(ARGV[5], '[^,]+') do windows[#windows + 1] = prefix .. (window + tonumber(offset)) end
local ids = { unpack(ARGV, 7) }
local found = {}
for w, key in ipairs(windows) do found[w] = redis.call('HMGET', key, unpack(ids)) end
local known, where, fresh = {}, {}, {}
for i, id in ipairs(ids) do
  if known[id] == nil then
    known[id] = false
    for w, key in ipairs(windows) do
      if found[w][i] then
        known[id], where[id] = found[w][i], key
        break
      end
    end
    if not known[id] then fresh[#fresh + 1] = i end
  end
end
local answers = {}
if #fresh > 0 then
  local last = redis.call('INCRBY', KEYS[1], #fresh)
  local mine = redis.call('HINCRBY', KEYS[2], worker, #fresh)
  local fields, recent = {}, {}
  for n, i in ipairs(fresh) do
    local total = last - #fresh + n
    known[ids[i]], where[ids[i]] = total .. ' ' .. worker, current
    fields[2 * n - 1], fields[2 * n] = ids[i], known[ids[i]]
    recent[n] = known[ids[i]]
    answers[3 * i - 2], answers[3 * i - 1], answers[3 * i] = total, mine - #fresh + n, 1
  end
  redis.call('HSET', current, unpack(fields))
  redis.call('EXPIRE', current, #windows * width, 'NX')
  redis.call('LPUSH', KEYS[3], unpack(recent))
  redis.call('LTRIM', KEYS[3], 0, recentKept - 1)
end
for i, id in ipairs(ids) do
  if answers[3 * i - 2] == nil then
    local total, credited = string.match(known[id], '^(%d+) (.+)$')
    local how = 2
    if credited ~= worker then
      how = 0
      redis.call('HINCRBY', KEYS[2], credited, -1)
      redis.call('HINCRBY', KEYS[2], worker, 1)
      known[id] = total .. ' ' .. worker
      redis.call('HSET', where[id], id, known[id])
    end
    answers[3 * i - 2], answers[3 * i - 1], answers[3 * i] = tonumber(total), tonumber(redis.call('HGET', KEYS[2], worker)), how
  end
end
return answers
