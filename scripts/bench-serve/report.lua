-- wrk script fragment: at the end of a run, print one line "@@wrk-json {...}" with the totals,
-- the socket errors, the responses with status >= 400 and the latency percentiles (µs), for
-- scripts/bench-serve/run. Used alone (-s report.lua: wrk's default GET of the URL) or loaded by
-- another script (post-message.lua).
done = function(summary, latency, requests)
  local e = summary.errors
  local p = function(q) return latency:percentile(q) end
  io.write(string.format(
    '@@wrk-json {"requests": %.0f, "duration_us": %.0f, "bytes": %.0f, ' ..
    '"errors": {"connect": %.0f, "read": %.0f, "write": %.0f, "status": %.0f, "timeout": %.0f}, ' ..
    '"latency_us": {"min": %.0f, "mean": %.1f, "max": %.0f, "stdev": %.1f, ' ..
    '"p50": %.0f, "p75": %.0f, "p90": %.0f, "p99": %.0f, "p99_9": %.0f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency.stdev,
    p(50), p(75), p(90), p(99), p(99.9)))
end
