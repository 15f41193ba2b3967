// Writing a command's output to a file or to stdout ("-"), with errors that name the path.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

namespace flashlab::cli {

// Throws flashlab::Error now if `path` ("-" = stdout) cannot be written, so that a long sweep
// does not fail at its end.
void check_writable(const std::string& path);

// Writes `text` to `path`, or to stdout for "-". Throws flashlab::Error naming the path.
void write_output(const std::string& path, const std::string& text);

// Streams `write` into `path` (or stdout for "-") without building the text in memory. Throws
// flashlab::Error naming the path; a file that could not be written whole is removed.
void write_output(const std::string& path, const std::function<void(std::ostream&)>& write);

bool ends_with_svg(const std::string& path);

}  // namespace flashlab::cli
