// A plain-text table with aligned columns, optional column groups ("---- O ----" above "max abs"
// and "rel L2") and rows that carry one spanning note (e.g. why an implementation is absent).
#pragma once

#include <string>
#include <vector>

#include <flashlab/cli/terminal.hpp>

namespace flashlab::cli {

enum class Align { Left, Right };

struct TableColumn {
  std::string header;
  Align align = Align::Right;
  std::string group;  // consecutive columns with the same non-empty group share a group header
};

struct TableCell {
  std::string text;
  Tone tone = Tone::Plain;
};

struct TableRow {
  std::vector<TableCell> cells;  // one per column; missing trailing cells print empty
  // When set, the cells after the first are replaced by this text spanning the rest of the row.
  bool spanning_note = false;
  TableCell note;
};

struct TextTable {
  std::vector<TableColumn> columns;
  std::vector<TableRow> rows;
};

// Renders with two spaces between columns; widths count characters without the colour codes.
std::string render(const TextTable& table, const Palette& palette);

}  // namespace flashlab::cli
