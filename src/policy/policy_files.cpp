// Reading policies/*.json and templates/*.json. Strict like the topology format: unknown keys
// and wrong types are errors (a misspelt "allow" key must never silently weaken a profile),
// every problem is reported, and nothing here throws for bad input.
#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "common/read_file.hpp"
#include "policy/profile.hpp"

namespace ndsip::policy {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::size_t max_policy_file_bytes = 1024 * 1024;

// Reads the members of one JSON object, recording type errors and unknown keys.
class ObjectReader {
 public:
  ObjectReader(const json& object, std::string pointer, std::string file,
               std::vector<PolicyProblem>* problems)
      : object_(object), pointer_(std::move(pointer)), file_(std::move(file)), problems_(problems) {}

  ~ObjectReader() = default;
  ObjectReader(const ObjectReader&) = delete;
  ObjectReader& operator=(const ObjectReader&) = delete;

  void string(const char* key, std::string* out, bool required = false) {
    if (const json* v = find(key, required)) {
      if (v->is_string()) {
        *out = v->get<std::string>();
      } else {
        type_error(key, "a string");
      }
    }
  }

  void boolean(const char* key, bool* out) {
    if (const json* v = find(key, false)) {
      if (v->is_boolean()) {
        *out = v->get<bool>();
      } else {
        type_error(key, "true or false");
      }
    }
  }

  void integer(const char* key, int* out) {
    if (const json* v = find(key, false)) {
      if (v->is_number_integer() && v->get<long long>() >= 0 && v->get<long long>() < 100) {
        *out = v->get<int>();
      } else {
        type_error(key, "a small integer");
      }
    }
  }

  void strings(const char* key, std::vector<std::string>* out, bool required) {
    const json* v = find(key, required);
    if (!v) return;
    if (!v->is_array()) {
      type_error(key, "an array of strings");
      return;
    }
    for (std::size_t i = 0; i < v->size(); ++i) {
      if ((*v)[i].is_string()) {
        out->push_back((*v)[i].get<std::string>());
      } else {
        add(pointer_ + "/" + key + "/" + std::to_string(i), "type", "must be a string");
      }
    }
  }

  // A nested object; nullptr (with a problem recorded) if present but not an object.
  const json* object(const char* key, bool required) {
    const json* v = find(key, required);
    if (v && !v->is_object()) {
      type_error(key, "an object");
      return nullptr;
    }
    return v;
  }

  // Call last: every key not read is unknown. Some keys get a dedicated rule instead.
  void finish() {
    for (const auto& [key, value] : object_.items()) {
      if (seen_.count(key)) continue;
      if (key == "ah") {
        add(pointer_ + "/ah", "no-ah", "AH is refused: NDS/IP uses ESP only (TS 33.210)");
      } else {
        std::string known;
        for (const std::string& k : seen_) known += (known.empty() ? "" : ", ") + k;
        add(pointer_ + "/" + key, "unknown-key",
            "unknown key \"" + key + "\" (known here: " + known + ")");
      }
    }
  }

  std::string child_pointer(const char* key) const { return pointer_ + "/" + key; }

 private:
  const json* find(const char* key, bool required) {
    seen_.insert(key);
    auto it = object_.find(key);
    if (it == object_.end()) {
      if (required) add(pointer_ + "/" + key, "missing-key", "\"" + std::string(key) + "\" is required");
      return nullptr;
    }
    return &*it;
  }
  void type_error(const char* key, const char* expected) {
    add(pointer_ + "/" + key, "type", std::string("must be ") + expected);
  }
  void add(const std::string& pointer, const char* rule, const std::string& message) {
    problems_->push_back({file_, pointer, rule, message});
  }

  const json& object_;
  std::string pointer_, file_;
  std::vector<PolicyProblem>* problems_;
  std::set<std::string> seen_;
};

// Parses text into a JSON object, or records why not.
std::optional<json> parse_object(const std::string& text, const std::string& file,
                                 std::vector<PolicyProblem>* problems) {
  if (text.size() > max_policy_file_bytes) {
    problems->push_back({file, "", "size", "larger than 1 MiB; this is not a policy file"});
    return std::nullopt;
  }
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    problems->push_back({file, "", "json", "not valid JSON"});
    return std::nullopt;
  }
  if (!doc.is_object()) {
    problems->push_back({file, "", "type", "must be a JSON object"});
    return std::nullopt;
  }
  return doc;
}

// The size is checked before reading so a stray large file is not loaded into memory.
std::optional<std::string> read_policy_file(const fs::path& path,
                                            std::vector<PolicyProblem>* problems) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (!ec && size > max_policy_file_bytes) {
    problems->push_back({path.string(), "", "size", "larger than 1 MiB; this is not a policy file"});
    return std::nullopt;
  }
  common::ReadResult read = common::read_file_or_error(path.string());
  if (!read.text) problems->push_back({path.string(), "", "read", read.error});
  return std::move(read.text);
}

// *.json in a directory, sorted by name; problems when the directory is missing or empty.
std::vector<fs::path> json_files(const std::string& dir, std::vector<PolicyProblem>* problems) {
  std::vector<fs::path> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    problems->push_back({dir, "", "read", "cannot read the directory: " + ec.message()});
    return out;
  }
  for (const auto& entry : it) {
    if (entry.path().extension() == ".json") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

const std::set<std::string> start_actions = {"none", "trap", "start", "trap|start"};
const std::set<std::string> close_actions = {"none", "trap", "start"};
const std::set<std::string> dpd_actions = {"clear", "trap", "restart"};
const std::set<std::string> reference_points = {"SEAL-S", "SEAL-E", "KM-S", "KM-E", "SEALDD-S",
                                                "SEALDD-E", "SEG-Za", "SEG-Zb"};

std::string one_of(const std::set<std::string>& values) {
  std::string out;
  for (const std::string& v : values) out += (out.empty() ? "" : ", ") + v;
  return out;
}

}  // namespace

const std::vector<std::string>& required_templates() {
  static const std::vector<std::string> names = {"km-e",     "km-s",   "seal-e", "seal-s",
                                                 "sealdd-e", "sealdd-s", "seg-za", "seg-zb"};
  return names;
}

std::vector<PolicyProblem> load_profile_text(const std::string& text, const std::string& name,
                                             const std::string& file, Profile* out) {
  std::vector<PolicyProblem> problems;
  const auto doc = parse_object(text, file, &problems);
  if (!doc) return problems;
  Profile p;
  p.name = name;
  p.file = file;
  ObjectReader top(*doc, "", file, &problems);
  top.string("description", &p.description);
  std::string zone;
  top.string("zone", &zone, true);
  if (zone == "za" || zone == "zb") {
    p.zone = zone == "za" ? Zone::za : Zone::zb;
  } else if (!zone.empty()) {
    problems.push_back({file, "/zone", "zone", "\"" + zone + "\" is not a zone (za, zb)"});
  }
  if (const json* ike = top.object("ike", true)) {
    ObjectReader r(*ike, "/ike", file, &problems);
    r.integer("version", &p.ike_version);
    r.string("auth", &p.auth);
    r.strings("proposals", &p.ike_proposals, true);
    r.string("rekey_time", &p.ike_rekey_time);
    r.string("dpd_delay", &p.dpd_delay);
    r.string("dpd_timeout", &p.dpd_timeout);
    r.finish();
  }
  if (const json* esp = top.object("esp", true)) {
    ObjectReader r(*esp, "/esp", file, &problems);
    r.strings("proposals", &p.esp_proposals, true);
    r.string("mode", &p.mode);
    r.string("rekey_time", &p.esp_rekey_time);
    r.string("life_time", &p.esp_life_time);
    r.finish();
  }
  if (const json* allow = top.object("allow", false)) {
    ObjectReader r(*allow, "/allow", file, &problems);
    r.boolean("transport_mode", &p.allow_transport);
    r.boolean("null_encryption", &p.encryption_optional);
    r.boolean("legacy_sha1", &p.allow_legacy_sha1);
    r.boolean("psk", &p.allow_psk);
    r.finish();
  }
  top.finish();
  // Check the content only when its shape was right, so one mistake is reported once.
  if (problems.empty()) problems = check_profile(p);
  if (problems.empty()) *out = std::move(p);
  return problems;
}

std::vector<PolicyProblem> load_template_text(const std::string& text, const std::string& name,
                                              const std::string& file, Template* out) {
  std::vector<PolicyProblem> problems;
  const auto doc = parse_object(text, file, &problems);
  if (!doc) return problems;
  Template t;
  t.name = name;
  t.file = file;
  ObjectReader r(*doc, "", file, &problems);
  r.string("description", &t.description);
  r.string("reference_point", &t.reference_point, true);
  r.string("za_profile", &t.za_profile);
  r.string("zb_profile", &t.zb_profile);
  r.string("start_action", &t.start_action);
  r.string("close_action", &t.close_action);
  r.string("dpd_action", &t.dpd_action);
  r.finish();
  auto check = [&](const char* pointer, const std::string& value, const std::set<std::string>& valid,
                   const char* rule) {
    if (!valid.count(value)) {
      problems.push_back({file, pointer, rule, "\"" + value + "\" is not one of " + one_of(valid)});
    }
  };
  if (!t.reference_point.empty()) {
    check("/reference_point", t.reference_point, reference_points, "reference-point");
  }
  check("/start_action", t.start_action, start_actions, "action");
  check("/close_action", t.close_action, close_actions, "action");
  check("/dpd_action", t.dpd_action, dpd_actions, "action");
  if (problems.empty()) *out = std::move(t);
  return problems;
}

PolicyLoadResult load_policies(const std::string& policies_dir, const std::string& templates_dir) {
  PolicyLoadResult result;
  auto& problems = result.problems;
  for (const fs::path& path : json_files(policies_dir, &problems)) {
    const auto text = read_policy_file(path, &problems);
    if (!text) continue;
    Profile p;
    auto found = load_profile_text(*text, path.stem().string(), path.string(), &p);
    if (found.empty()) {
      result.set.profiles.emplace(p.name, std::move(p));
    } else {
      problems.insert(problems.end(), found.begin(), found.end());
    }
  }
  std::set<std::string> broken_templates;
  for (const fs::path& path : json_files(templates_dir, &problems)) {
    const auto text = read_policy_file(path, &problems);
    if (!text) continue;
    Template t;
    auto found = load_template_text(*text, path.stem().string(), path.string(), &t);
    if (found.empty()) {
      result.set.templates.emplace(t.name, std::move(t));
    } else {
      broken_templates.insert(path.stem().string());
      problems.insert(problems.end(), found.begin(), found.end());
    }
  }
  // Cross references: templates name profiles of the right zone; every template is there.
  for (const auto& [name, t] : result.set.templates) {
    for (const auto& [pointer, profile, zone] :
         {std::tuple{"/za_profile", t.za_profile, Zone::za}, std::tuple{"/zb_profile", t.zb_profile, Zone::zb}}) {
      auto it = result.set.profiles.find(profile);
      if (it == result.set.profiles.end()) {
        problems.push_back({t.file, pointer, "unknown-profile",
                            "profile \"" + profile + "\" is not in " + policies_dir});
      } else if (it->second.zone != zone) {
        problems.push_back({t.file, pointer, "zone-mismatch",
                            "profile \"" + profile + "\" is a " + (it->second.zone == Zone::za ? "Za" : "Zb") +
                                " profile and cannot be used " +
                                (zone == Zone::za ? "between domains (Za)" : "inside a domain (Zb)")});
      }
    }
  }
  for (const std::string& name : required_templates()) {
    if (!result.set.templates.count(name) && !broken_templates.count(name)) {
      problems.push_back({(fs::path(templates_dir) / (name + ".json")).string(), "",
                          "missing-template", "the planner needs this template"});
    }
  }
  return result;
}

}  // namespace ndsip::policy
