-- wrk script: sends the JoinReq bodies of requests.txt (one per line) in order, so every
-- request is a fresh, valid join; counts answers that are not Success.
local file = os.getenv("JOINCHECK_REQUESTS") or "requests.txt"
local lines = io.lines(file)
local failures = 0
local headers = { ["Content-Type"] = "application/json" }

request = function()
  local body = lines()
  if body == nil then
    lines = io.lines(file)  -- out of fresh joins: the rest will be replays
    body = lines()
  end
  return wrk.format("POST", "/", headers, body)
end

response = function(status, hdrs, body)
  if status ~= 200 or not string.find(body, '"Success"', 1, true) then
    failures = failures + 1
    if failures <= 3 then io.stderr:write("not a Success: " .. status .. " " .. body .. "\n") end
  end
end

done = function(summary, latency, requests)
  io.write(string.format("p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000))
  io.write(string.format("%d requests, %.0f per second\n", summary.requests,
    summary.requests / (summary.duration / 1e6)))
end
