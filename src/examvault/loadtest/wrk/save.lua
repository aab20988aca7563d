-- Durable one-answer saves: PUT /api/v1/attempts/{id}/answers over many started attempts.
--
--   wrk -s src/examvault/loadtest/wrk/save.lua URL -- seats.txt THREADS SECONDS DONE [FIRST_SEQ]   (see common.lua)
--
-- seats.txt holds "/api/v1/attempts/<id>/answers <token>" lines; each thread takes its
-- own share and goes round them in turn, each save with the attempt's next `seq`, so
-- every save is a new one the server applies (a seat's previous save was answered long
-- before: there are many more seats than connections). FIRST_SEQ (default 0): this run's
-- seqs start above it, so that another run over the same seats saves new answers too.
-- A 200 whose "accepted" list is empty was stale (not applied): counted apart, and the
-- bench checks there are none.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local first_seq = 0

local function make(seat)
  seat.seq = math.max(seat.seq, first_seq) + 1
  -- the single-choice questions of loadtest's exam_document are q000, q003, q006
  local body = string.format(
    '{"answers":[{"question_id":"q%03d","response":"B","seq":%d}]}',
    3 * (seat.seq % 3), seat.seq)
  return wrk.format("PUT", seat.path, common.headers(seat.token), body)
end

local function seen(status, body)
  if status == 200 then
    local key = body:find('"accepted":[]', 1, true) and "stale" or "accepted"
    counters[key] = (counters[key] or 0) + 1
  end
end

local init0
setup, done = common.setup, common.done
init0, delay, request, response = common.driver(make, seen, true)

function init(args)
  first_seq = tonumber(args[5]) or 0
  init0(args)
end
