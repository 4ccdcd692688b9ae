// The shapes of ndsipd's answers, so every command says success and failure the same way.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ndsip::control {

using Json = nlohmann::json;

// {"ok": true}
Json ok_answer();
// {"ok": false, "error": message}
Json error_answer(const std::string& message);
// {"ok": false, "error": "<what>: N problem(s); nothing was changed", "problems": [...]}
Json problems_answer(const std::string& what, const std::vector<std::string>& problems);

}  // namespace ndsip::control
