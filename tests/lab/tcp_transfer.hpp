// A TCP transfer between addresses in lab namespaces, for traffic tests: the listener's half
// and the sender's half (each run in its host's namespace, see netns_thread.hpp), and a digest
// to compare what arrived with what was sent.
#pragma once

#include <cstdint>
#include <future>
#include <string>

namespace ndsip::lab {

// Binds `addr`:`port` (so only a packet that reached that host itself is answered), says so
// through `listening`, takes one connection and returns everything read until EOF (20 s at most).
std::string receive_all(const std::string& addr, std::uint16_t port, std::promise<void>& listening);

// From `from` (the source address the selectors expect) to `to`:`port`: all of `data`, a
// half-close, then waits for the listener to close (everything was read). Throws on failure.
void send_all(const std::string& from, const std::string& to, std::uint16_t port, const std::string& data);

// SHA-256 of `data`, in hex.
std::string sha256_hex(const std::string& data);

}  // namespace ndsip::lab
