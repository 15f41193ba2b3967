// Totals and a printable table of the machine's counters.
#include <flashlab/simulator/machine/io_stats.hpp>

#include <algorithm>
#include <cstdio>

namespace flashlab::simulator {

int64_t IoStats::bytes_read() const {
  int64_t sum = 0;
  for (const TensorTraffic& t : tensors) sum += t.bytes_read;
  return sum;
}

int64_t IoStats::bytes_written() const {
  int64_t sum = 0;
  for (const TensorTraffic& t : tensors) sum += t.bytes_written;
  return sum;
}

void accumulate(IoStats& a, const IoStats& b) {
  for (size_t k = 0; k < a.tensors.size(); ++k) {
    a.tensors[k].bytes_read += b.tensors[k].bytes_read;
    a.tensors[k].bytes_written += b.tensors[k].bytes_written;
    a.tensors[k].reads += b.tensors[k].reads;
    a.tensors[k].writes += b.tensors[k].writes;
  }
  a.matmul_flops += b.matmul_flops;
  a.exp_ops += b.exp_ops;
  a.other_flops += b.other_flops;
  a.random_draws += b.random_draws;
  a.peak_sram_bytes = std::max(a.peak_sram_bytes, b.peak_sram_bytes);
}

std::string format_table(const IoStats& s) {
  std::string out;
  char line[160];
  std::snprintf(line, sizeof line, "%-10s %16s %16s %10s %10s\n", "tensor", "bytes read",
                "bytes written", "tile rd", "tile wr");
  out += line;
  for (int k = 0; k < kTensorCount; ++k) {
    const TensorTraffic& t = s.tensors[size_t(k)];
    if (t.reads == 0 && t.writes == 0) continue;
    std::snprintf(line, sizeof line, "%-10s %16lld %16lld %10lld %10lld\n",
                  tensor_name(static_cast<TensorId>(k)), static_cast<long long>(t.bytes_read),
                  static_cast<long long>(t.bytes_written), static_cast<long long>(t.reads),
                  static_cast<long long>(t.writes));
    out += line;
  }
  std::snprintf(line, sizeof line, "%-10s %16lld %16lld   (%lld bytes, %lld elements)\n", "total",
                static_cast<long long>(s.bytes_read()), static_cast<long long>(s.bytes_written()),
                static_cast<long long>(s.total_bytes()),
                static_cast<long long>(s.total_elements()));
  out += line;
  std::snprintf(line, sizeof line,
                "matmul FLOPs %lld, exp %lld, other FLOPs %lld, random draws %lld, peak SRAM %lld "
                "bytes\n",
                static_cast<long long>(s.matmul_flops), static_cast<long long>(s.exp_ops),
                static_cast<long long>(s.other_flops), static_cast<long long>(s.random_draws),
                static_cast<long long>(s.peak_sram_bytes));
  out += line;
  return out;
}

}  // namespace flashlab::simulator
