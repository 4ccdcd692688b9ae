#include "etcd/credentials.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/secret_file.hpp"

namespace ndsip::etcd {

namespace {

bool utf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();  // strict: throws on bytes that are not UTF-8
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

}  // namespace

void check_credentials(const std::string& user, const std::string& password) {
  if (user.empty() && !password.empty()) throw std::invalid_argument("an etcd password needs an etcd user name");
  if (!user.empty() && password.empty()) {
    throw std::invalid_argument("etcd user \"" + (utf8(user) ? user : "?") + "\" needs a password");
  }
  if (!utf8(user)) throw std::invalid_argument("the etcd user name is not UTF-8 text");
  if (!utf8(password)) throw std::invalid_argument("the etcd password is not UTF-8 text");
}

std::string password_from_text(std::string text) {
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.empty()) throw std::invalid_argument("is empty");
  if (text.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
    throw std::invalid_argument("holds more than one line or a NUL byte; put the password alone on one line");
  }
  if (!utf8(text)) throw std::invalid_argument("is not UTF-8 text");
  return text;
}

std::string read_password_file(const std::string& path) {
  common::SecretRead r = common::read_secret_file(path);
  if (!r.text) throw std::invalid_argument("etcd password file " + path + " " + r.error);
  try {
    return password_from_text(std::move(*r.text));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("etcd password file " + path + " " + e.what());
  }
}

}  // namespace ndsip::etcd
