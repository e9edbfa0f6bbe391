-- wrk script: single-message POST /messages, a different message id per request.
-- Bodies cycle through a few realistic banking questions (written for this project).
local bodies = {
  "I lost my card yesterday, please block it",
  "Why was I charged a fee for my transfer?",
  "How long does a top-up by bank transfer take?",
  "My card payment was declined at the supermarket",
  "Can I change the PIN of my card in the app?",
  "The exchange rate on my statement looks wrong",
  "I want to close my account",
  "Where is my new card? It has not arrived yet",
}
local counter = 0
request = function()
  counter = counter + 1
  local body = bodies[(counter % #bodies) + 1]
  local payload = string.format('{"messages": [{"id": "w%d-%d", "subject": "", "body": "%s"}]}', id or 0, counter, body)
  return wrk.format("POST", "/messages", {["Content-Type"] = "application/json"}, payload)
end
setup = function(thread)
  thread:set("id", math.random(1, 1000000))
end
-- The summary line scripts/bench-serve/run parses (report.lua, next to this file).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
