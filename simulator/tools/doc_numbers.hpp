// The numbers the docs quote that the simulator computes (worked example, default SRAM and tiles,
// byte counts, ratios, the refusal message, an example trace), each under a name. The docs hold
// them between markers that scripts/check_generated_docs.py compares with this output, so they
// follow the code instead of being typed.
#pragma once

#include <string>
#include <vector>

#include <flashlab/simulator/trace/trace.hpp>

namespace flashlab::simulator::tools {

struct DocItem {
  std::string name;  // the marker's name in the docs, e.g. "worked-example-table"
  std::string text;  // what goes between the markers; one line for an item used inline
};

// Every item, deterministic (counting-only runs and closed forms; no timing).
std::vector<DocItem> doc_items();

// The tiny causal FA2 forward whose trace docs/trace-format.md shows (seq_q = 2, seq_k = 4, d = 2,
// 2 x 2 tiles, so one block is skipped).
Trace trace_example_run();

}  // namespace flashlab::simulator::tools
