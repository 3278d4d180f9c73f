-- The load `bench_server.py --generator wrk` sends with wrk (https://github.com/wg/wrk): each request searches one
-- of SciFact's queries, chosen at random, with one of the load-test user's API tokens in turn.
--   wrk -t1 -c50 -d20s -s benchmarks/wrk_search.lua URL -- QUERIES_FILE TOKENS_FILE MODE FACETS
-- QUERIES_FILE and TOKENS_FILE hold one query (one token) per line. Prints one JSON line at the end.

local queries, tokens = {}, {}
local mode, facets = "keyword", "false"
local n = 0

local function lines(path)
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then out[#out + 1] = line end
  end
  return out
end

local function encode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  queries, tokens = lines(args[1]), lines(args[2])
  mode, facets = args[3] or mode, args[4] or facets
  math.randomseed(os.time())
end

function request()
  n = n + 1
  local q = queries[math.random(#queries)]
  local path = "/api/search?q=" .. encode(q) .. "&mode=" .. mode .. "&facets=" .. facets .. "&limit=10"
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1] })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d}, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
