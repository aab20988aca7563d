-- Submits: POST /api/v1/attempts/{id}/submit (no body), each attempt once.
--
--   wrk -s src/examvault/loadtest/wrk/submit.lua URL -- attempts.txt THREADS 0 DONE   (see common.lua)
--
-- attempts.txt holds "/api/v1/attempts/<id>/submit <token>" lines; each is used once,
-- and wrk stops when they are used up and answered.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

setup, done = common.setup, common.done
init, delay, request, response = common.post_each_once()
