-- The candidate pages' poll: GET /api/v1/attempts/{id}/live, paced.
--
--   wrk -t1 -s src/examvault/loadtest/wrk/live.lua URL -- live.txt 1 SECONDS DONE RATE   (see common.lua)
--
-- live.txt holds "/api/v1/attempts/<id>/live <token>" lines. Polls go out on a fixed
-- schedule of RATE a second, whatever the answers' latency (open loop, as 10,000 pages
-- poll): each request waits for the next free slot of the schedule, so the rate holds as
-- long as a connection is free (give it enough connections). bench/ceiling.py runs it
-- beside the saves to see what the pages' polls cost them.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local function make(seat)
  return wrk.format("GET", seat.path, common.headers(seat.token))
end

local function seen(status, body)
  if status == 200 and body:find('"server_time"', 1, true) then
    counters.live = (counters.live or 0) + 1
  end
end

local interval_us, next_at = 0, nil
local init0, delay0
setup, done = common.setup, common.done
init0, delay0, request, response = common.driver(make, seen, true)

function init(args)
  interval_us = 1e6 / (tonumber(args[5]) or 1000)
  init0(args)
end

function delay()
  local wait = delay0()
  if wait ~= 0 then
    return wait
  end
  local now = common.now_us()
  next_at = math.max(next_at or now, now - 1e5) + interval_us -- never a burst to catch up
  return math.max(0, math.floor((next_at - now) / 1000))
end
