#include "control/command_table.hpp"

#include <stdexcept>

#include "control/answer.hpp"
#include "control/protocol.hpp"

namespace ndsip::control {

CommandTable::CommandTable() {
  add("list-commands", "the commands this ndsipd answers, with a line on each",
      [this](const Json&, Reply reply) {
        Json a = ok_answer();
        a["commands"] = commands();
        reply(std::move(a));
      });
}

void CommandTable::add(const std::string& name, const std::string& summary, Handler handler) {
  if (!entries_.emplace(name, Entry{summary, std::move(handler)}).second) {
    throw std::logic_error("control command \"" + name + "\" registered twice");
  }
}

void CommandTable::dispatch(const Json& request, Reply reply) const {
  const std::string name = request.at(key::command).get<std::string>();
  const auto it = entries_.find(name);
  if (it == entries_.end()) {
    std::string known;
    for (const auto& [n, e] : entries_) known += (known.empty() ? "" : ", ") + n;
    reply(error_answer("unknown command \"" + name + "\" (" + known + ")"));
    return;
  }
  it->second.handler(request, std::move(reply));
}

std::map<std::string, std::string> CommandTable::commands() const {
  std::map<std::string, std::string> out;
  for (const auto& [n, e] : entries_) out.emplace(n, e.summary);
  return out;
}

}  // namespace ndsip::control
