-- GET the URL's path (the no-op, /healthz) and report in bench/ceiling.py's format.
-- No response() here: wrk then skips parsing bodies, and non-2xx is its own count of
-- statuses above 399.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

setup = common.setup
done = common.done
