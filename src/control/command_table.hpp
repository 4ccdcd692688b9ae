// ndsipd's commands by name, as Kea's command manager and strongSwan's vici plugin do it:
// each part of the daemon registers its own commands; the table dispatches requests and
// answers `list-commands` itself. An unknown command gets an answer naming the known ones.
#pragma once

#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace ndsip::control {

using Json = nlohmann::json;
// Answers one request; called exactly once, possibly later (a push answers after the apply).
using Reply = std::function<void(Json answer)>;
using Handler = std::function<void(const Json& request, Reply reply)>;

class CommandTable {
 public:
  CommandTable();

  // Registers `name`; a second registration of the same name is a programming error
  // (std::logic_error), so two parts cannot silently shadow each other.
  void add(const std::string& name, const std::string& summary, Handler handler);

  // Runs the request's command. Requests reach here well-formed (an object with a string
  // "command"); the server turns an exception thrown by a handler into an error answer.
  void dispatch(const Json& request, Reply reply) const;

  // name -> summary, for list-commands and the docs test.
  std::map<std::string, std::string> commands() const;

 private:
  struct Entry {
    std::string summary;
    Handler handler;
  };
  std::map<std::string, Entry> entries_;
};

}  // namespace ndsip::control
