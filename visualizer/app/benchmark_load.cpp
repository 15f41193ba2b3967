// flashlab-viz --benchmark-load: how long a trace takes to load before the window opens.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "modes.hpp"

namespace flashlab::viz::app {

// Loads the trace file `repeats` times exactly as startup does and prints the minimum and median
// of each half (the load is dominated by one pass over the file, so the minimum is the machine's
// cost and the median shows the noise of a shared machine).
int benchmark_load(const std::string& path, int repeats) {
  using clock = std::chrono::steady_clock;
  std::vector<double> parse, index, total;
  int64_t events = 0, rows = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = clock::now();
    simulator::Trace trace = read_trace_file(path);
    const auto t1 = clock::now();
    const Session s = session_from_trace(std::move(trace), path);
    const ReplayState replay = make_replay(s);  // set_session's share of the startup
    const auto t2 = clock::now();
    parse.push_back(std::chrono::duration<double>(t1 - t0).count());
    index.push_back(std::chrono::duration<double>(t2 - t1).count());
    total.push_back(std::chrono::duration<double>(t2 - t0).count());
    events = s.event_count();
    rows = int64_t(s.trace.softmax_rows.size());
  }
  auto report = [](const char* what, std::vector<double> seconds) {
    std::sort(seconds.begin(), seconds.end());
    std::printf("  %-54s min %.3f s, median %.3f s\n", what, seconds.front(),
                seconds[seconds.size() / 2]);
  };
  std::printf("flashlab-viz benchmark-load: %s, %lld events, %lld softmax rows, %d loads\n",
              path.c_str(), static_cast<long long>(events), static_cast<long long>(rows), repeats);
  report("read and parse the JSON (simulator::read_trace_json):", parse);
  report("count, rerun, index (session_from_trace, make_replay):", index);
  report("total, before the window opens:", total);
  return 0;
}

}  // namespace flashlab::viz::app
