// Reading a trace from JSON (schema: docs/trace-format.md). The two large arrays, events and
// softmax_rows, are streamed through nlohmann's SAX interface straight into the Trace: building
// the whole document first (one std::map per event) took most of the load time of a 100k-event
// trace. The few other fields are collected into a small json object and checked after the parse.
// Problems are reported in a fixed order whatever the key order of the file: a syntax error
// anywhere, then the header (format and version first), then softmax_rows, then events. Paths
// like "events[3].kind" are built only when something is wrong. The rules beyond types (values
// inside the shape, exact counts, the size limits) are in trace_rules.cpp.
#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <istream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <unordered_map>

#include <flashlab/core/error.hpp>
#include <flashlab/simulator/trace/trace_json.hpp>

#include "trace_rules.hpp"

namespace flashlab::simulator {
namespace {
using nlohmann::json;
using trace_rules::element_path;
using trace_rules::fail;

constexpr EventKind kKinds[] = {EventKind::Load, EventKind::Store,   EventKind::Alloc,
                                EventKind::Free, EventKind::Compute, EventKind::SoftmaxUpdate,
                                EventKind::Skip};

// What a field must be, as the error messages say it.
constexpr const char* kInteger = "an integer";
constexpr const char* kNumber = "a number (or \"-inf\", \"inf\", \"nan\")";
constexpr const char* kString = "a string";
constexpr const char* kRectShape = "[row0, rows, col0, cols]";
constexpr const char* kRowShape = "[row, m_old, l_old, m_new, l_new, rescale]";

// `got` is the offending value as JSON, or "an array" / "an object".
[[noreturn]] void wrong_type(const std::string& where, const char* expected,
                             const std::string& got) {
  fail(where, std::string("expected ") + expected + ", got " + got);
}

const char* container_name(bool is_array) {
  return is_array ? "an array" : "an object";
}

// An integer that int64 holds: an unsigned above 2^63 - 1 is not one (get<int64_t> would wrap).
std::optional<int64_t> as_integer(const json& v) {
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)) return std::nullopt;
  if (!v.is_number_integer()) return std::nullopt;
  return v.get<int64_t>();
}

// Numbers, and the strings the writer uses for the floats JSON cannot hold.
std::optional<double> as_real(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "-inf") return -INFINITY;
    if (s == "inf") return INFINITY;
    if (s == "nan") return NAN;
  }
  return std::nullopt;
}

// ---- The header: every field but events and softmax_rows, as a json object ----

const json& field(const json& obj, const char* key, const std::string& where) {
  if (!obj.is_object()) fail(where, "expected an object");
  const auto it = obj.find(key);
  if (it == obj.end()) fail(where + "." + key, "missing");
  return *it;
}

int64_t integer(const json& v, const std::string& where) {
  if (const auto x = as_integer(v)) return *x;
  wrong_type(where, kInteger, v.dump());
}

double real(const json& v, const std::string& where) {
  if (const auto x = as_real(v)) return *x;
  wrong_type(where, kNumber, v.dump());
}

bool boolean(const json& v, const std::string& where) {
  if (!v.is_boolean()) wrong_type(where, "true or false", v.dump());
  return v.get<bool>();
}

std::string text(const json& v, const std::string& where) {
  if (!v.is_string()) wrong_type(where, kString, v.dump());
  return v.get<std::string>();
}

void read_header(const json& doc, Trace& t) {
  const std::string root = "trace";
  if (text(field(doc, "format", root), "format") != kTraceFormatName)
    fail("format", "expected \"" + std::string(kTraceFormatName) + "\"");
  const int64_t version = integer(field(doc, "version", root), "version");
  if (version != kTraceFormatVersion)
    fail("version", "unsupported version " + std::to_string(version) + "; this reader reads " +
                        std::to_string(kTraceFormatVersion));
  const std::string algorithm = text(field(doc, "algorithm", root), "algorithm");
  try {
    t.algorithm = algorithm_from_string(algorithm);
  } catch (const Error& e) {
    fail("algorithm", e.what());
  }
  const std::string pass = text(field(doc, "pass", root), "pass");
  if (pass != "forward" && pass != "backward")
    fail("pass", "expected \"forward\" or \"backward\", got \"" + pass + "\"");
  t.backward = pass == "backward";
  t.title = text(field(doc, "title", root), "title");
  const json& code = field(doc, "pseudo_code", root);
  if (!code.is_array()) fail("pseudo_code", "expected an array of strings");
  for (size_t k = 0; k < code.size(); ++k)
    t.pseudo_code.push_back(text(code[k], element_path("pseudo_code", k)));

  const json& shape = field(doc, "shape", root);
  t.shape.batch = integer(field(shape, "batch", "shape"), "shape.batch");
  t.shape.heads = integer(field(shape, "heads", "shape"), "shape.heads");
  t.shape.seq_q = integer(field(shape, "seq_q", "shape"), "shape.seq_q");
  t.shape.seq_k = integer(field(shape, "seq_k", "shape"), "shape.seq_k");
  t.shape.head_dim = integer(field(shape, "head_dim", "shape"), "shape.head_dim");
  const json& tiles = field(doc, "tiles", root);
  t.tiles.block_rows = integer(field(tiles, "block_rows", "tiles"), "tiles.block_rows");
  t.tiles.block_cols = integer(field(tiles, "block_cols", "tiles"), "tiles.block_cols");
  t.sram_capacity_bytes = integer(field(doc, "sram_capacity_bytes", root), "sram_capacity_bytes");
  const int64_t element_bytes = integer(field(doc, "element_bytes", root), "element_bytes");
  if (element_bytes < 1 || element_bytes > 8)
    fail("element_bytes", std::to_string(element_bytes) + " is outside 1..8");
  t.element_bytes = int(element_bytes);
  const json& opt = field(doc, "options", root);
  t.softmax_scale = real(field(opt, "softmax_scale", "options"), "options.softmax_scale");
  t.causal = boolean(field(opt, "causal", "options"), "options.causal");
  t.dropout_p = real(field(opt, "dropout_p", "options"), "options.dropout_p");
  t.block_sparse = boolean(field(opt, "block_sparse", "options"), "options.block_sparse");
  // Optional (traces before v27 have none): false.
  if (const auto kept = opt.find("kept_max"); kept != opt.end())
    t.kept_max = boolean(*kept, "options.kept_max");
  trace_rules::check_header(t);
}

// ---- The streamed arrays ----

// The fields of an event; the first kRequiredFields must be present, the others default to 0.
enum class Field : uint8_t {
  Kind,
  Line,
  Batch,
  Head,
  Tensor,
  Rect,
  Op,
  I,
  J,
  SramUsedBytes,
  Bytes,
  Flops,
  Exps,
  Draws,
  SoftmaxFirst,
  SoftmaxCount,
  Unknown  // ignored: later versions may add fields
};
// In the order of Field. The names are string_views, compared by length first: matching keys is
// the reader's innermost loop.
struct FieldSpec {
  std::string_view name;
  int64_t Event::*integer;  // where an integer field goes; nullptr for the others
};
constexpr FieldSpec kFields[] = {{"kind", nullptr},
                                 {"line", nullptr},
                                 {"batch", &Event::batch},
                                 {"head", &Event::head},
                                 {"tensor", nullptr},
                                 {"rect", nullptr},
                                 {"op", nullptr},
                                 {"i", &Event::i},
                                 {"j", &Event::j},
                                 {"sram_used_bytes", &Event::sram_used_bytes},
                                 {"bytes", &Event::bytes},
                                 {"flops", &Event::flops},
                                 {"exps", &Event::exps},
                                 {"draws", &Event::draws},
                                 {"softmax_first", &Event::softmax_first},
                                 {"softmax_count", &Event::softmax_count}};
static_assert(std::size(kFields) == size_t(Field::Unknown));
constexpr size_t kRequiredFields = 10;

Field field_named(const std::string& name) {
  for (size_t f = 0; f < std::size(kFields); ++f)
    if (name == kFields[f].name) return Field(f);
  return Field::Unknown;
}

bool is_text(Field f) {
  return f == Field::Kind || f == Field::Tensor || f == Field::Op;
}

constexpr int64_t TileRect::*kRectEntries[] = {&TileRect::row0, &TileRect::rows, &TileRect::col0,
                                               &TileRect::cols};
constexpr float SoftmaxRow::*kRowValues[] = {&SoftmaxRow::m_old, &SoftmaxRow::l_old,
                                             &SoftmaxRow::m_new, &SoftmaxRow::l_new,
                                             &SoftmaxRow::rescale};

// The handler of json::sax_parse. Containers are counted by depth_: the root object is depth 1,
// an event depth 2 inside events, its fields depth 3, the entries of its rect depth 4 (a softmax
// row: 2, its entries 3). The first problem inside events and inside softmax_rows is remembered
// and the rest of that array skipped, but lexing goes on, so that a syntax error later in the
// file and a problem of the header are still reported first (see the top of the file).
class TraceReader {
 public:
  explicit TraceReader(Trace& t) : t_(t) {}

  bool null() { return scalar(json(nullptr)); }
  bool boolean(bool b) { return scalar(json(b)); }
  bool number_integer(json::number_integer_t x) { return scalar(json(x)); }
  bool number_unsigned(json::number_unsigned_t x) { return scalar(json(x)); }
  bool number_float(json::number_float_t x, const json::string_t&) { return scalar(json(x)); }
  bool binary(json::binary_t&) { return true; }  // JSON text has no binary values
  bool string(json::string_t& s) {
    if (section_ == Section::Events && depth_ == 3 && is_text(field_)) {
      if (!skipping() && !guarded([&] { set_text(s); })) skip_rest_of_array();
      return true;
    }
    return scalar(json(std::move(s)));
  }
  bool key(json::string_t& k) {
    if (!skipping()) set_key(k);
    return true;
  }
  bool start_object(size_t) { return open(false); }
  bool start_array(size_t) { return open(true); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool parse_error(size_t, const std::string&, const json::exception& e) {
    syntax_error_ = e.what();
    return false;
  }

  const std::string& syntax_error() const { return syntax_error_; }

  // After a parse without syntax errors: the header, then the problems found while streaming.
  void finish() {
    if (root_problem_) throw Error(*root_problem_);
    read_header(header_, t_);
    if (rows_problem_) throw Error(*rows_problem_);
    if (!has_rows_) fail("trace.softmax_rows", "missing");
    for (size_t k = 0; k < t_.softmax_rows.size(); ++k)
      trace_rules::check_row(t_, t_.softmax_rows[k], k);
    // Events kept are those before the first problem, so the first bad event is reported.
    for (size_t k = 0; k < t_.events.size(); ++k) trace_rules::check_event(t_, t_.events[k], k);
    if (events_problem_) throw Error(*events_problem_);
    if (!has_events_) fail("trace.events", "missing");
    trace_rules::check_totals(t_);
  }

 private:
  enum class Section : uint8_t { Header, Events, Rows };

  bool skipping() const { return skip_ > 0 && depth_ >= skip_; }

  // Runs one step of reading; returns false after remembering its problem (the first of its part).
  template <typename Step>
  bool guarded(Step&& step) {
    try {
      step();
      return true;
    } catch (const Error& e) {
      std::optional<std::string>& first = depth_ == 0                   ? root_problem_
                                          : section_ == Section::Events ? events_problem_
                                                                        : rows_problem_;
      if (!first) first = e.what();
      return false;
    }
  }

  // After a problem inside events or softmax_rows, the rest of that array is not read.
  void skip_rest_of_array() {
    if (depth_ >= 2) skip_ = 2;
  }

  bool scalar(json v) {
    if (!skipping() && !guarded([&] { take(std::move(v)); })) skip_rest_of_array();
    return true;
  }

  bool open(bool is_array) {
    // A container refused is skipped whole (the root: everything), one in an array with the rest.
    if (!skipping() && !guarded([&] { enter(is_array); })) skip_ = std::min(depth_ + 1, 2);
    ++depth_;
    return true;
  }

  bool close() {
    const bool skipped = skipping();
    --depth_;
    if (depth_ < skip_) skip_ = 0;
    if (!skipped && !guarded([&] { leave(); })) skip_rest_of_array();
    return true;
  }

  const char* array_name() const { return section_ == Section::Events ? "events" : "softmax_rows"; }
  std::string event_path() const { return element_path("events", t_.events.size()); }
  std::string field_path() const {
    return event_path() + "." + std::string(kFields[size_t(field_)].name);
  }
  std::string row_path() const { return element_path("softmax_rows", t_.softmax_rows.size()); }
  std::string entry_path(const std::string& array, int n) const {
    return array + "[" + std::to_string(n) + "]";
  }

  void set_key(std::string& k) {
    if (depth_ == 1) {
      section_ = k == "events"         ? Section::Events
                 : k == "softmax_rows" ? Section::Rows
                                       : Section::Header;
      // A field given twice: the last one counts, as in a json object.
      if (section_ == Section::Events) {
        t_.events.clear();
        events_problem_.reset();
        has_events_ = true;
      } else if (section_ == Section::Rows) {
        t_.softmax_rows.clear();
        rows_problem_.reset();
        has_rows_ = true;
      } else {
        header_key_ = std::move(k);
      }
    } else if (section_ == Section::Header) {
      header_key_ = std::move(k);
    } else if (section_ == Section::Events && depth_ == 3) {
      field_ = field_named(k);
    }
  }

  // A container starts (depth_ is still that of its parent).
  void enter(bool is_array) {
    if (depth_ == 0) {
      if (is_array) fail("trace", "expected an object");
    } else if (section_ == Section::Header) {
      add_to_header(is_array ? json::array() : json::object());
    } else if (depth_ == 1) {
      if (!is_array) wrong_type(array_name(), "an array", "an object");
    } else if (section_ == Section::Rows) {
      if (depth_ == 3)
        wrong_type(entry_path(row_path(), row_entries_), row_entries_ == 0 ? kInteger : kNumber,
                   container_name(is_array));
      if (!is_array) wrong_type(row_path(), kRowShape, "an object");
      row_ = SoftmaxRow{};
      row_entries_ = 0;
    } else if (depth_ == 2) {
      if (is_array) wrong_type(event_path(), "an object", "an array");
      event_ = Event{};
      given_ = 0;
    } else if (depth_ == 3 && field_ == Field::Unknown) {
      skip_ = depth_ + 1;
    } else if (depth_ == 3 && field_ == Field::Rect && is_array) {
      rect_entries_ = 0;
    } else if (depth_ == 3) {
      wrong_type(field_path(),
                 field_ == Field::Rect ? kRectShape
                 : is_text(field_)     ? kString
                                       : kInteger,
                 container_name(is_array));
    } else {
      wrong_type(entry_path(field_path(), rect_entries_), kInteger, container_name(is_array));
    }
  }

  // A container ended (depth_ is now that of its parent).
  void leave() {
    if (section_ == Section::Header) {
      if (depth_ >= 1) building_.pop_back();
    } else if (section_ == Section::Rows && depth_ == 2) {
      if (row_entries_ != 6) fail(row_path(), std::string("expected ") + kRowShape);
      t_.softmax_rows.push_back(row_);
    } else if (section_ == Section::Events && depth_ == 2) {
      for (size_t f = 0; f < kRequiredFields; ++f)
        if ((given_ & (1u << f)) == 0)
          fail(event_path() + "." + std::string(kFields[f].name), "missing");
      if (event_.softmax_first < 0 || event_.softmax_count < 0)
        fail(event_path() + ".softmax_first/softmax_count", "must be >= 0");
      t_.events.push_back(event_);
    } else if (section_ == Section::Events && depth_ == 3) {  // a rect (others were skipped)
      if (rect_entries_ != 4) fail(field_path(), std::string("expected ") + kRectShape);
      const TileRect& r = event_.rect;
      if (r.row0 < 0 || r.rows < 0 || r.col0 < 0 || r.cols < 0)
        fail(field_path(), "entries must be >= 0");
      given_ |= 1u << size_t(Field::Rect);
    }
  }

  // A scalar other than an event's text field.
  void take(json v) {
    if (depth_ == 0) fail("trace", "expected an object");
    if (section_ == Section::Header) return add_to_header(std::move(v));
    if (depth_ == 1) wrong_type(array_name(), "an array", v.dump());
    if (section_ == Section::Rows) return set_row_entry(v);
    if (depth_ == 2) wrong_type(event_path(), "an object", v.dump());
    if (depth_ == 3) return set_field(v);
    if (rect_entries_ == 4) fail(field_path(), std::string("expected ") + kRectShape);
    const auto x = as_integer(v);
    if (!x) wrong_type(entry_path(field_path(), rect_entries_), kInteger, v.dump());
    event_.rect.*kRectEntries[rect_entries_++] = *x;
  }

  void add_to_header(json v) {
    json& parent = building_.empty() ? header_ : *building_.back();
    json* slot = nullptr;
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      slot = &parent.back();
    } else {
      slot = &(parent[header_key_] = std::move(v));
    }
    if (slot->is_structured()) building_.push_back(slot);
  }

  void set_text(const std::string& s) {
    given_ |= 1u << size_t(field_);
    if (field_ == Field::Op) {
      const auto it = ops_.find(s);  // one copy of each distinct text
      event_.op = it != ops_.end() ? it->second : ops_.emplace(s, t_.intern(s)).first->second;
    } else if (field_ == Field::Tensor) {
      const auto id = tensor_from_name(s);
      if (!id) fail(field_path(), "unknown tensor '" + s + "'");
      event_.tensor = *id;
    } else {
      const auto* kind = std::find_if(std::begin(kKinds), std::end(kKinds),
                                      [&](EventKind k) { return s == to_string(k); });
      if (kind == std::end(kKinds))
        fail(field_path(), "unknown event kind '" + s +
                               "'; accepted: load, store, alloc, free, compute, softmax, skip");
      event_.kind = *kind;
    }
  }

  void set_field(const json& v) {
    if (field_ == Field::Unknown) return;
    if (field_ == Field::Rect) wrong_type(field_path(), kRectShape, v.dump());
    if (is_text(field_)) wrong_type(field_path(), kString, v.dump());
    const auto x = as_integer(v);
    if (!x) wrong_type(field_path(), kInteger, v.dump());
    given_ |= 1u << size_t(field_);
    if (field_ != Field::Line) {
      event_.*kFields[size_t(field_)].integer = *x;
      return;
    }
    // The range needs pseudo_code, which may come later in the file (trace_rules checks it).
    if (*x < 1 || *x > INT_MAX) fail(field_path(), std::to_string(*x) + " is not a line number");
    event_.line = int(*x);
  }

  void set_row_entry(const json& v) {
    if (depth_ == 2) wrong_type(row_path(), kRowShape, v.dump());
    if (row_entries_ == 6) fail(row_path(), std::string("expected ") + kRowShape);
    if (row_entries_ == 0) {
      const auto x = as_integer(v);
      if (!x) wrong_type(entry_path(row_path(), 0), kInteger, v.dump());
      row_.row = *x;
    } else {
      const auto x = as_real(v);
      if (!x) wrong_type(entry_path(row_path(), row_entries_), kNumber, v.dump());
      row_.*kRowValues[row_entries_ - 1] = float(*x);
    }
    ++row_entries_;
  }

  Trace& t_;
  int depth_ = 0;
  int skip_ = 0;  // > 0: everything at this depth and deeper is ignored
  Section section_ = Section::Header;
  bool has_events_ = false, has_rows_ = false;
  // The header fields, built as a json object.
  json header_ = json::object();
  std::vector<json*> building_;  // the header containers open now, innermost last
  std::string header_key_;       // the key of the next value in the innermost header object
  // The event or softmax row being read.
  Event event_;
  uint32_t given_ = 0;  // bit f: Field f was given
  Field field_ = Field::Unknown;
  int rect_entries_ = 0;
  SoftmaxRow row_;
  int row_entries_ = 0;
  std::unordered_map<std::string, const char*> ops_;  // one copy of each distinct text
  std::string syntax_error_;
  std::optional<std::string> root_problem_, events_problem_, rows_problem_;
};

}  // namespace

Trace read_trace_json(std::string_view text) {
  if (text.size() > size_t(kMaxTraceJsonBytes))
    fail("trace", std::to_string(text.size()) + " bytes of JSON; the reader accepts at most " +
                      std::to_string(kMaxTraceJsonBytes) + " (1 GiB)");
  Trace t;
  TraceReader reader(t);
  if (!json::sax_parse(text.begin(), text.end(), &reader))
    throw Error("trace JSON: not valid JSON: " + reader.syntax_error());
  reader.finish();
  return t;
}

Trace read_trace_json(std::istream& in) {
  // The whole file in one buffer: nlohmann's lexer reads a stream one character at a time. One
  // byte past the limit is enough to refuse the file without reading the rest.
  std::string text;
  std::array<char, 1 << 16> chunk;
  while (text.size() <= size_t(kMaxTraceJsonBytes) &&
         (in.read(chunk.data(), chunk.size()) || in.gcount() > 0))
    text.append(chunk.data(), size_t(in.gcount()));
  if (in.bad()) fail("trace", "cannot read the trace (an I/O error, or not a file)");
  return read_trace_json(std::string_view(text));
}

}  // namespace flashlab::simulator
