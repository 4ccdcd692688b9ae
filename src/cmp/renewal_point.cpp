#include "cmp/renewal_point.hpp"

#include <algorithm>
#include <charconv>

namespace ndsip::cmp {

namespace {

std::optional<int> number(const std::string& digits) {
  int value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<RenewalPoint> RenewalPoint::parse(const std::string& text, std::string* error) {
  const char* accepted = "give a share of the lifetime (\"70%\", 1% to 99%) or days before expiry (\"30d\")";
  auto fail = [&](const std::string& why) -> std::optional<RenewalPoint> {
    if (error) *error = "\"" + text + "\" " + why + ": " + accepted;
    return std::nullopt;
  };
  if (text.size() < 2) return fail("is not a renewal point");
  const std::optional<int> n = number(text.substr(0, text.size() - 1));
  if (!n) return fail("is not a renewal point");
  RenewalPoint p;
  if (text.back() == '%') {
    if (*n < 1 || *n > 99) return fail("is out of range");
    p.kind = Kind::fraction;
    p.percent = *n;
  } else if (text.back() == 'd') {
    if (*n < 1) return fail("is out of range");
    p.kind = Kind::days_before;
    p.days = *n;
  } else {
    return fail("has no unit");
  }
  return p;
}

std::string RenewalPoint::to_string() const {
  return kind == Kind::fraction ? std::to_string(percent) + "%" : std::to_string(days) + "d";
}

std::time_t RenewalPoint::when(std::time_t not_before, std::time_t not_after) const {
  const long long lifetime = std::max<long long>(0, static_cast<long long>(not_after) - not_before);
  if (kind == Kind::fraction) return static_cast<std::time_t>(not_before + lifetime * percent / 100);
  const long long before = static_cast<long long>(days) * 86400;
  return static_cast<std::time_t>(std::max<long long>(not_after - before, not_before + lifetime / 2));
}

}  // namespace ndsip::cmp
