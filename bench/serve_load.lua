-- wrk script for bench/serve_load.sh: POSTs real Quick, Draw! drawings (one per line of BODIES, a file of raw
-- ndjson lines) to /api/predict in turn, keeping connections alive; reports the errors, answers that are not 200 included.
local bodies = {}
local i = 0

function init(args)
  local path = os.getenv("BODIES")
  for line in io.lines(path) do
    if #line > 0 then bodies[#bodies + 1] = line end
  end
  if #bodies == 0 then error("no drawings in " .. path) end
  i = math.random(#bodies)
end

function request()
  i = i % #bodies + 1
  return wrk.format("POST", "/api/predict", { ["Content-Type"] = "application/json" }, bodies[i])
end

function done(summary, latency, requests)
  io.write(string.format("errors: %d connect, %d read, %d write, %d timeout, %d not 200\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    summary.errors.status))
end
