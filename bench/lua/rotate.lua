-- Rotate through precomputed requests and count Tuya envelopes that are not "success":true.
--
-- Usage: wrk ... -s bench/lua/rotate.lua URL -- REQUESTS.lua
-- REQUESTS.lua returns { {method=, path=, headers={...}, body=}, ... } (written by bench/openapi.py).
-- done() prints one line "BENCH_JSON {...}" with totals, error counts and latency percentiles (microseconds).

local threads = {}
local next_id = 1

function setup(thread)
   thread:set("id", next_id)
   table.insert(threads, thread)
   next_id = next_id + 1
end

function init(args)
   local spec = dofile(args[1])
   reqs = {}
   for i, e in ipairs(spec) do
      reqs[i] = wrk.format(e.method, e.path, e.headers, e.body)
   end
   n = #reqs
   -- threads start at different places in the rotation
   idx = ((id or 1) - 1) * 7919 % n
   ok = 0
   failed = 0
   first_failure = ""
end

function request()
   idx = idx % n + 1
   return reqs[idx]
end

function response(status, headers, body)
   if status == 200 and string.find(body, '"success":true', 1, true) then
      ok = ok + 1
   else
      failed = failed + 1
      if first_failure == "" then
         first_failure = tostring(status) .. " " .. string.sub(body or "", 1, 200)
      end
   end
end

local function json_string(s)
   s = string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end)
   return '"' .. s .. '"'
end

function done(summary, latency, requests)
   local total_ok, total_failed, sample = 0, 0, ""
   for _, t in ipairs(threads) do
      total_ok = total_ok + t:get("ok")
      total_failed = total_failed + t:get("failed")
      if sample == "" then sample = t:get("first_failure") end
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"ok":%d,"failed":%d,"first_failure":%s,' ..
      '"socket_errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
      summary.requests, summary.duration, total_ok, total_failed, json_string(sample),
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max))
end
