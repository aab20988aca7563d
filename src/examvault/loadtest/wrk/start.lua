-- Starts: POST /api/v1/exams/{id}/attempts, one fresh registered token per request.
--
--   wrk -s src/examvault/loadtest/wrk/start.lua URL -- tokens.txt THREADS 0 DONE   (see common.lua)
--
-- tokens.txt holds "/api/v1/exams/<id>/attempts <token>" lines; each is used once, and
-- wrk stops when they are used up and answered.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

setup, done = common.setup, common.done
init, delay, request, response = common.post_each_once()
