// Rendering of TextTable: widths from plain text, colour applied after padding.
#include <flashlab/cli/text_table.hpp>

#include <algorithm>

namespace flashlab::cli {
namespace {

constexpr size_t kGap = 2;

// Display width of UTF-8 text: counts code points, not bytes (for "µ", "×", "≤").
size_t display_width(const std::string& text) {
  size_t width = 0;
  for (unsigned char c : text) width += (c & 0xC0) != 0x80 ? 1 : 0;
  return width;
}

std::string pad(const std::string& text, size_t width, Align align) {
  const size_t w = display_width(text);
  if (w >= width) return text;
  const std::string fill(width - w, ' ');
  return align == Align::Left ? text + fill : fill + text;
}

std::string center(const std::string& text, size_t width, char fill) {
  const size_t w = display_width(text);
  if (w + 2 > width) return pad(text, width, Align::Left);
  const size_t left = (width - w - 2) / 2, right = width - w - 2 - left;
  return std::string(left, fill) + " " + text + " " + std::string(right, fill);
}

std::string trim_right(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

std::string render(const TextTable& table, const Palette& palette) {
  const size_t n = table.columns.size();
  std::vector<size_t> width(n, 0);
  for (size_t c = 0; c < n; ++c) width[c] = display_width(table.columns[c].header);
  for (const TableRow& row : table.rows) {
    const size_t cells =
        row.spanning_note ? std::min<size_t>(1, row.cells.size()) : row.cells.size();
    for (size_t c = 0; c < std::min(cells, n); ++c)
      width[c] = std::max(width[c], display_width(row.cells[c].text));
  }
  // A group header must fit over its columns: widen the last column of the group if needed.
  for (size_t c = 0; c < n;) {
    size_t end = c + 1;
    while (end < n && !table.columns[c].group.empty() &&
           table.columns[end].group == table.columns[c].group)
      ++end;
    if (!table.columns[c].group.empty()) {
      size_t span = (end - c - 1) * kGap;
      for (size_t k = c; k < end; ++k) span += width[k];
      const size_t needed = display_width(table.columns[c].group) + 6;
      if (span < needed) width[end - 1] += needed - span;
    }
    c = end;
  }

  std::string out;
  const bool has_groups = std::any_of(table.columns.begin(), table.columns.end(),
                                      [](const TableColumn& col) { return !col.group.empty(); });
  if (has_groups) {
    std::string line;
    for (size_t c = 0; c < n;) {
      size_t end = c + 1;
      while (end < n && !table.columns[c].group.empty() &&
             table.columns[end].group == table.columns[c].group)
        ++end;
      size_t span = (end - c - 1) * kGap;
      for (size_t k = c; k < end; ++k) span += width[k];
      if (c > 0) line += std::string(kGap, ' ');
      line += table.columns[c].group.empty() ? std::string(span, ' ')
                                             : center(table.columns[c].group, span, '-');
      c = end;
    }
    out += palette.paint(trim_right(line), Tone::Dim) + "\n";
  }
  std::string header;
  for (size_t c = 0; c < n; ++c) {
    if (c > 0) header += std::string(kGap, ' ');
    header += pad(table.columns[c].header, width[c], table.columns[c].align);
  }
  out += palette.paint(trim_right(header), Tone::Bold) + "\n";

  for (const TableRow& row : table.rows) {
    std::string line;
    const size_t cells = row.spanning_note ? 1 : n;
    for (size_t c = 0; c < cells && c < n; ++c) {
      const TableCell cell = c < row.cells.size() ? row.cells[c] : TableCell{};
      if (c > 0) line += std::string(kGap, ' ');
      const bool last = !row.spanning_note && c + 1 == n;
      const std::string padded = last && table.columns[c].align == Align::Left
                                     ? cell.text
                                     : pad(cell.text, width[c], table.columns[c].align);
      line += palette.paint(padded, cell.tone);
    }
    if (row.spanning_note)
      line += std::string(kGap, ' ') + palette.paint(row.note.text, row.note.tone);
    out += trim_right(line) + "\n";
  }
  return out;
}

}  // namespace flashlab::cli
