-- The candidate pages' poll: GET /api/v1/attempts/{id}/live, paced.
--
--   wrk -s bench/wrk/live.lua URL -- live.txt THREADS SECONDS DONE PACE_MS   (see common.lua)
--
-- live.txt holds "/api/v1/attempts/<id>/live <token>" lines; each connection waits
-- PACE_MS before each poll, so C connections send about C × 1000 / PACE_MS polls a second
-- (less when answers take long): bench/ceiling.py runs it beside the saves to see what
-- the pages' polls cost them.
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

local pace = 0
local init0, delay0
setup, done = common.setup, common.done
init0, delay0, request, response = common.driver(make, seen, true)

function init(args)
  pace = tonumber(args[5]) or 0
  init0(args)
end

function delay()
  local wait = delay0()
  if wait == 0 then
    return pace
  end
  return wait
end
