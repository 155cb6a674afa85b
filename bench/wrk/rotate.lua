-- wrk script: rotate over pre-built requests, report a one-line JSON summary.
--
--   wrk -t2 -c16 -d10s -s bench/wrk/rotate.lua http://127.0.0.1:8000 -- requests.tsv [OFFSET]
--
-- requests.tsv has one request per line, four tab-separated fields:
--   METHOD  PATH  IF-NONE-MATCH (or empty)  JSON BODY (or empty)
-- Each wrk thread starts at a different line, OFFSET (default 0) lines further: a run
-- given a new offset does not repeat the requests of the run before it. At the end, `done` prints
--   RESULT {"requests": …, "duration_us": …, "p50_us": …, "p99_us": …, …}
-- which bench/load_bench.py parses.

local queue = {}
local position = 0
local thread_number = 0

function setup(thread)
  thread:set("thread_id", thread_number)
  thread_number = thread_number + 1
end

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local method, path, etag, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {}
    if etag ~= "" then
      headers["If-None-Match"] = etag
    end
    if body == "" then
      body = nil
    else
      headers["Content-Type"] = "application/json"
    end
    queue[#queue + 1] = wrk.format(method, path, headers, body)
  end
  file:close()
  position = ((thread_id or 0) * 7919 + tonumber(args[2] or "0")) % #queue
end

function request()
  position = position % #queue + 1
  return queue[position]
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
    '"timeouts": %d, "bad_status": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, errors.connect, errors.read, errors.write, errors.timeout, errors.status))
end
