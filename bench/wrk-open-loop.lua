-- wrk at a fixed rate (an open loop): each thread sends its share of the rate
-- on a fixed schedule, whichever of its connections is free, so a slow answer
-- does not slow the sending. Args: the rate (requests a second, all threads)
-- and the number of threads. Reports as wrk-report.lua does.
local ffi = require('ffi')
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } hitcounter_timespec;
  int clock_gettime(int clock, hitcounter_timespec *now);
]]
local now = ffi.new('hitcounter_timespec')
local function ms ()
  ffi.C.clock_gettime(1, now) -- CLOCK_MONOTONIC
  return tonumber(now.tv_sec) * 1000 + tonumber(now.tv_nsec) / 1e6
end

local interval, due
function init (args)
  interval = 1000 / (tonumber(args[1]) / tonumber(args[2]))
end

-- Called before each request after a connection's first: wait for the next free slot of the schedule.
function delay ()
  local t = ms()
  due = math.max(due or t, t - interval) + interval
  return math.max(0, math.floor(due - t))
end

dofile('bench/wrk-report.lua')
