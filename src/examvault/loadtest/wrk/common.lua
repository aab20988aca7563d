-- Shared by the wrk scripts of bench/ceiling.py (loaded with dofile).
--
-- The scripts that send real work get their arguments after `--`:
--
--   LINES THREADS SECONDS DONE
--
-- LINES is a file of "path token" lines; thread k (1-based) takes lines k, k + THREADS,
-- k + 2 × THREADS …, so two threads never share a line. SECONDS > 0: send for that long,
-- then let every request in flight be answered; SECONDS = 0: send every line once, then
-- let every answer come. Either way nothing is left in flight when a thread stops, so
-- what wrk counted is exactly what the server was sent. DONE is a file each finished
-- thread appends to; the last one wakes wrk's main thread (which otherwise sleeps for
-- the whole -d). done() prints one line "CEILING {json}": totals, latency percentiles
-- (µs), the time from the first request to the last answer, the statuses and counters.
local M = {}

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } ceiling_timespec;
int clock_gettime(int clock, ceiling_timespec *tp);
int getpid(void);
int tgkill(int tgid, int tid, int sig);
]])
local ts = ffi.new("ceiling_timespec")

function M.now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local threads = {}
local next_id = 1

function M.setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function M.headers(token)
  return { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
end

-- The driver of a script: `make(line)` builds the request for a line, `seen(status,
-- body)` looks at an answer; `repeat_lines` goes round the lines again and again (saves)
-- instead of once (starts, submits). Returns init, delay, request, response.
function M.driver(make, seen, repeat_lines)
  local lines, nthreads, seconds, done_file
  local deadline
  local i, reserved, inflight, finished = 0, 0, 0, false
  local running = false -- wrk calls request() once before the run, to check it

  local function finish()
    wrk.thread:stop()
    if finished then
      return
    end
    finished = true
    local f = io.open(done_file, "a")
    f:write(tid, "\n")
    f:close()
    local n = 0
    for _ in io.lines(done_file) do
      n = n + 1
    end
    if n >= nthreads then
      local pid = ffi.C.getpid()
      ffi.C.tgkill(pid, pid, 2) -- SIGINT to wrk's main thread: stop sleeping, report
    end
  end

  local function init(args)
    nthreads, seconds, done_file = tonumber(args[2]), tonumber(args[3]), args[4]
    lines = {}
    local k = 0
    for text in io.lines(args[1]) do
      local p, t = text:match("^(%S+)%s+(%S+)$")
      if p then
        k = k + 1
        if (k - 1) % nthreads == tid - 1 then
          table.insert(lines, { path = p, token = t, seq = 0 })
        end
      end
    end
    statuses, counters, span = {}, {}, {}
  end

  local function more()
    if repeat_lines then
      return M.now_us() < deadline
    end
    return reserved < #lines
  end

  local function delay()
    if not running then
      running = true
      deadline = M.now_us() + seconds * 1e6
    end
    if #lines > 0 and more() then
      reserved = reserved + 1
      inflight = inflight + 1
      return 0
    end
    if inflight == 0 then
      finish()
    end
    return 3600000
  end

  local function request()
    if not running then
      return make(lines[1] or { path = "/", token = "none", seq = 0 })
    end
    span.first = span.first or M.now_us()
    if repeat_lines then
      i = i % #lines + 1
    else
      i = i + 1
    end
    return make(lines[i])
  end

  local function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
    seen(status, body)
    span.last = M.now_us()
    inflight = inflight - 1
    if inflight == 0 and not more() then
      finish()
    end
  end

  return init, delay, request, response
end

-- The driver of the scripts that POST each line once, with its token and no body
-- (starts, submits).
function M.post_each_once()
  local function make(line)
    return wrk.format("POST", line.path, M.headers(line.token), "")
  end
  return M.driver(make, function() end, false)
end

local function pairs_json(t)
  local parts = {}
  for k, v in pairs(t or {}) do
    table.insert(parts, string.format('"%s":%d', tostring(k), v))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function M.done(summary, latency, requests)
  local statuses, counters = {}, {}
  local first, last
  for _, thread in ipairs(threads) do
    local span = thread:get("span") or {}
    if span.first and (not first or span.first < first) then
      first = span.first
    end
    if span.last and (not last or span.last > last) then
      last = span.last
    end
    for k, v in pairs(thread:get("statuses") or {}) do
      statuses[k] = (statuses[k] or 0) + v
    end
    for k, v in pairs(thread:get("counters") or {}) do
      counters[k] = (counters[k] or 0) + v
    end
  end
  local e = summary.errors
  io.write(string.format(
    'CEILING {"requests":%d,"duration_us":%d,"active_us":%d,"bytes":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},'
      .. '"statuses":%s,"counters":%s}\n',
    summary.requests, summary.duration, (first and last) and (last - first) or 0, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, pairs_json(statuses), pairs_json(counters)))
end

return M
