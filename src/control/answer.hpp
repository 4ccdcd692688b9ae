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

// An answer already serialised: `text` is a JSON object with every member, "protocol"
// included, sent as it is. For answers whose DOM costs far more than their text (status's
// tunnel table at 10,000 rows). It travels through Reply as a JSON binary value, so Reply
// keeps one type; the connection writes its bytes.
Json preserialized_answer(const std::string& text);

}  // namespace ndsip::control
