#include "cli/status_summary.hpp"

#include <vector>

#include <nlohmann/json.hpp>

namespace ndsip::cli {

namespace {

using nlohmann::json;

// SAX events, with the path to each value kept as the keys of the objects above it. Stops
// (returns false) once everything needed has been seen.
class Reader {
 public:
  explicit Reader(StatusSummary& s) : s_(s) {}

  bool done() const { return ok_seen_ && charon_seen_ && topology_seen_ && counts_seen_; }
  // Not an object, or not JSON as far as it was read.
  bool refused() const { return malformed_ || !seen_top_; }

  bool null() { return value(); }
  bool boolean(bool v) {
    if (at("ok")) {
      s_.ok = v;
      ok_seen_ = true;
    } else if (at("denied")) {
      s_.denied = v;
    } else if (at("charon", "connected")) {
      s_.charon_connected = v;
    }
    return value();
  }
  bool number_integer(json::number_integer_t v) { return number(static_cast<long long>(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return number(static_cast<long long>(v)); }
  bool number_float(json::number_float_t, const json::string_t&) { return value(); }
  bool string(json::string_t& v) {
    if (at("error")) {
      s_.error = v;
    } else if (at("topology", "refused")) {
      s_.topology_refused = v;
    } else if (in_row() && key_ == "state" && !counts_seen_) {
      // An ndsipd without tunnel_counts: the rows say it.
      ++row_tunnels_;
      row_up_ += v == "up";
    }
    return value();
  }
  bool binary(json::binary_t&) { return value(); }
  bool start_object(std::size_t) {
    seen_top_ = true;
    path_.push_back(key_);
    key_.clear();
    return true;
  }
  bool end_object() {
    const std::string closed = path_.back();
    path_.pop_back();
    if (path_.size() == 1) {
      if (closed == "charon") charon_seen_ = true;
      if (closed == "topology") topology_seen_ = true;
      if (closed == "tunnel_counts") counts_seen_ = true;
    }
    if (path_.empty() && !counts_seen_) {
      s_.tunnels = row_tunnels_;
      s_.tunnels_up = row_up_;
    }
    return !done();
  }
  bool start_array(std::size_t) {
    if (path_.empty()) return malformed(), false;  // an array, not an object
    path_.push_back(key_ + "[]");
    key_.clear();
    return true;
  }
  bool end_array() {
    path_.pop_back();
    return value();
  }
  bool key(json::string_t& k) {
    key_ = k;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return malformed(), false; }

 private:
  void malformed() { malformed_ = true; }
  // After a value: stop once everything needed is in.
  bool value() { return !done(); }
  bool number(long long v) {
    if (at("topology", "version")) {
      s_.topology_version = v;
    } else if (at("tunnel_counts", "total")) {
      s_.tunnels = static_cast<std::size_t>(v);
    } else if (at("tunnel_counts", "up")) {
      s_.tunnels_up = static_cast<std::size_t>(v);
    }
    return value();
  }
  // The value just read is the top-level object's `name`.
  bool at(const char* name) const { return path_.size() == 1 && key_ == name; }
  // ... its `outer` object's `name`.
  bool at(const char* outer, const char* name) const {
    return path_.size() == 2 && path_[1] == outer && key_ == name;
  }
  // Inside one object of the top-level `tunnels` array.
  bool in_row() const { return path_.size() == 3 && path_[1] == "tunnels[]"; }

  StatusSummary& s_;
  std::vector<std::string> path_;  // for each open object or array, the key it is under
  std::string key_;                // the key of the value being read
  bool seen_top_ = false, malformed_ = false;
  bool ok_seen_ = false, charon_seen_ = false, topology_seen_ = false, counts_seen_ = false;
  std::size_t row_tunnels_ = 0, row_up_ = 0;
};

}  // namespace

std::optional<StatusSummary> summarize_status(std::string_view answer) {
  StatusSummary s;
  Reader reader(s);
  const bool whole = json::sax_parse(answer, &reader);
  if (reader.refused() || (!whole && !reader.done())) return std::nullopt;
  return s;
}

}  // namespace ndsip::cli
