// Network namespace helpers for the test lab: thin wrappers around `ip`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ndsip::lab::netns {

// Where `ip netns` keeps its named namespaces.
inline constexpr const char* kRunDir = "/run/netns";

// True if /run/netns/<name> exists.
bool exists(const std::string& name);

// Identity of a named namespace (the nsfs inode of /run/netns/<name>), 0 if it
// does not exist. Names can be reused; inodes of live namespaces cannot.
std::uint64_t inode(const std::string& name);

// `ip netns add <name>`; throws (with the command and its output) on failure,
// including when the name already exists.
void add(const std::string& name);

// `ip netns del <name>`; throws on failure.
void del(const std::string& name);

// `ip -n <ns> <args...>`; throws on failure, returns the output.
std::string ip(const std::string& ns, const std::vector<std::string>& args);

// Writes `value` to /proc/sys/<key> (e.g. key "net/ipv6/conf/all/disable_ipv6")
// as seen from inside namespace <ns>. Done from a short-lived thread that
// joins the namespace with setns(), so no process is started. Throws on failure.
void write_sysctl(const std::string& ns, const std::string& key, const std::string& value);

// PIDs of the processes whose network namespace is <name> (`ip netns pids`).
std::vector<pid_t> pids(const std::string& name);

// Names in /run/netns.
std::vector<std::string> list();

}  // namespace ndsip::lab::netns
