// The files flashlab-viz reads (--trace, --compare, --softmax-run) are checked before they are
// opened, so that a missing file, a directory or one too large to read is one line naming it.
#pragma once

#include <cstdint>
#include <string>

namespace flashlab::viz {

// Throws flashlab::Error "WHAT: no such file", "WHAT: is a directory; give GIVE",
// "WHAT: N bytes; LIMIT" (more than max_bytes) or "WHAT: cannot open it: REASON"; WHAT names the
// option and the file ("--trace run.json").
void check_input_file(const std::string& path, const std::string& what, const std::string& give,
                      uint64_t max_bytes, const std::string& limit);

}  // namespace flashlab::viz
