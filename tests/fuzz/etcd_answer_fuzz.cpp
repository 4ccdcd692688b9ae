// libFuzzer target for etcd's answers (issue 12: the store is another host, its bytes are
// untrusted). Every parser either returns or throws etcd::Error; anything else (another
// exception, a crash, a sanitizer report) is a failure. It also checks a property that can
// fail: keys and values a parser returns re-encode to the base64 the answer carried, so a
// decoder that accepts a non-canonical form is caught.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "etcd/base64.hpp"
#include "etcd/codec.hpp"

using namespace ndsip::etcd;

namespace {

template <typename F>
void guarded(F&& f) {
  try {
    f();
  } catch (const Error&) {
    // refused or malformed: the expected outcome for most inputs
  } catch (...) {
    std::abort();
  }
}

void check_canonical(std::string_view text) {
  if (const auto bytes = base64_decode(text)) {
    if (base64_encode(*bytes) != text) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  guarded([&] { (void)parse_range(input); });
  guarded([&] { (void)parse_txn(input); });
  guarded([&] { (void)parse_lease(input); });
  guarded([&] { (void)parse_watch(input); });
  guarded([&] {
    // The token goes into an HTTP header: it must never carry a byte that ends one.
    for (const char ch : parse_authenticate(input)) {
      if (ch < 0x21 || ch > 0x7e) std::abort();
    }
  });
  check_canonical(input);
  return 0;
}
