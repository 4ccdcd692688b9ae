#include "control/answer.hpp"

#include "control/protocol.hpp"

namespace ndsip::control {

Json ok_answer() { return {{key::ok, true}}; }

Json error_answer(const std::string& message) { return {{key::ok, false}, {key::error, message}}; }

Json problems_answer(const std::string& what, const std::vector<std::string>& problems) {
  Json a = error_answer(what + ": " + std::to_string(problems.size()) + " problem" +
                        (problems.size() == 1 ? "" : "s") + "; nothing was changed");
  a[key::problems] = problems;
  return a;
}

Json preserialized_answer(const std::string& text) {
  return Json::binary(Json::binary_t::container_type(text.begin(), text.end()));
}

}  // namespace ndsip::control
