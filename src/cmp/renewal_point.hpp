// When a certificate is renewed: at a fraction of its lifetime ("70%": 70 % of the way from
// notBefore to notAfter) or a number of days before it expires ("30d"). Pure.
#pragma once

#include <ctime>
#include <optional>
#include <string>

namespace ndsip::cmp {

struct RenewalPoint {
  enum class Kind { fraction, days_before };
  Kind kind = Kind::fraction;
  int percent = 70;  // kind fraction: 1..99
  int days = 30;     // kind days_before: >= 1

  // "70%" or "30d"; nullopt with *error saying what is accepted.
  static std::optional<RenewalPoint> parse(const std::string& text, std::string* error);
  std::string to_string() const;

  // The moment to renew a certificate valid from `not_before` to `not_after`. "days before"
  // never comes earlier than half the lifetime: a CA that issues certificates shorter than
  // the setting would otherwise be asked again the moment each new one arrives.
  std::time_t when(std::time_t not_before, std::time_t not_after) const;
};

}  // namespace ndsip::cmp
