#include "topology/names.hpp"

#include <algorithm>

namespace ndsip::topology::detail {

namespace {

bool is_lower_alpha(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return is_lower_alpha(c) || (c >= 'A' && c <= 'Z'); }

}  // namespace

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > max_name_length || !is_lower_alpha(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_lower_alpha(c) || is_digit(c) || c == '-'; });
}

const char* fqdn_problem(std::string_view id) {
  if (id.empty()) return "is empty";
  if (id.size() > 253) return "is longer than 253 characters";
  if (id.back() == '.')
    return "ends with a dot (write it without the root dot, as in the certificate)";
  std::size_t labels = 0;
  std::string_view last;
  for (std::size_t start = 0; start <= id.size();) {
    std::size_t end = id.find('.', start);
    if (end == std::string_view::npos) end = id.size();
    const std::string_view label = id.substr(start, end - start);
    if (label.empty()) return "has an empty label";
    if (label.size() > 63) return "has a label longer than 63 characters";
    if (!std::all_of(label.begin(), label.end(),
                     [](char c) { return is_alpha(c) || is_digit(c) || c == '-'; })) {
      return "has a character other than letters, digits, \"-\" and \".\"";
    }
    if (label.front() == '-' || label.back() == '-')
      return "has a label starting or ending with \"-\"";
    ++labels;
    last = label;
    start = end + 1;
  }
  if (labels < 2) return "is not a fully qualified domain name (it needs at least two labels)";
  // RFC 1123 2.1: the top-level label is not all digits, so "192.0.2.1" is no host name.
  if (std::all_of(last.begin(), last.end(), is_digit))
    return "looks like an address, not a domain name";
  return nullptr;
}

const char* dn_problem(std::string_view dn) {
  const auto first = dn.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "is empty";
  if (std::any_of(dn.begin(), dn.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    return "contains a control character";
  }
  // The first RDN's attribute: a keyword ("CN", "O", "C", ...) or a dotted OID, then "=".
  std::size_t i = first;
  while (i < dn.size() && (is_alpha(dn[i]) || is_digit(dn[i]) || dn[i] == '.')) ++i;
  while (i < dn.size() && dn[i] == ' ') ++i;
  if (i == first || i >= dn.size() || dn[i] != '=') {
    return "is not a distinguished name such as \"C=DE, O=Operator A, CN=Operator A NDS/IP CA\"";
  }
  return nullptr;
}

}  // namespace ndsip::topology::detail
