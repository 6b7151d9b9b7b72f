-- wrk script for the same /v1/rank mix as `waitless loadtest`:
--   python -m load_tests.paths --count 5000 > /tmp/rank-paths.txt
--   wrk -t2 -c64 -d30s -s load_tests/rank.lua http://127.0.0.1:8080
-- wrk is closed-loop: it reports what the server sustained, not latency at a fixed rate
-- (use `wrk2 -R` or `waitless loadtest` for that).
local paths = {}
local counter = 0

function init(args)
  local file = io.open(args[1] or "/tmp/rank-paths.txt", "r")
  for line in file:lines() do paths[#paths + 1] = line end
  file:close()
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
