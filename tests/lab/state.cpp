#include "lab/state.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "lab/netns.hpp"
#include "lab/process.hpp"

namespace ndsip::lab {

namespace {

constexpr const char* kMagic = "ndsip-lab-state 1";

std::runtime_error sys_error(const std::string& what, int err) {
  return std::runtime_error(what + ": " + std::strerror(err));
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::string read_fd(int fd) {
  std::string out;
  char buf[4096];
  off_t off = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    off += n;
  }
  return out;
}

}  // namespace

// ---- LabState ---------------------------------------------------------------

std::string LabState::serialize() const {
  std::ostringstream out;
  out << kMagic << '\n';
  out << "owner " << owner_pid << ' ' << owner_start_time << '\n';
  out << "keep " << (keep ? 1 : 0) << '\n';
  for (const auto& n : netns) out << "netns " << n.name << ' ' << n.inode << '\n';
  for (const auto& c : charons)
    out << "charon " << c.pid << ' ' << c.start_time << ' ' << c.netns << '\n';
  // The file is rewritten in place; "end" marks where the current version stops.
  out << "end\n";
  return out.str();
}

std::optional<LabState> LabState::parse(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != kMagic) return std::nullopt;
  LabState s;
  bool have_owner = false;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    std::string key;
    l >> key;
    if (key == "end") return have_owner ? std::optional<LabState>(s) : std::nullopt;
    if (key == "owner") {
      long pid = -1;
      l >> pid >> s.owner_start_time;
      s.owner_pid = static_cast<pid_t>(pid);
      have_owner = static_cast<bool>(l);
    } else if (key == "keep") {
      int k = 0;
      l >> k;
      s.keep = k != 0;
    } else if (key == "netns") {
      Netns n;
      l >> n.name >> n.inode;
      if (l) s.netns.push_back(n);
    } else if (key == "charon") {
      Charon c;
      long pid = -1;
      l >> pid >> c.start_time >> c.netns;
      c.pid = static_cast<pid_t>(pid);
      if (l) s.charons.push_back(c);
    }
  }
  return std::nullopt;  // no "end": torn or truncated
}

// ---- StateFile --------------------------------------------------------------

StateFile::StateFile(const std::string& dir, const LabState& initial) : dir_(dir) {
  // Lock first, then publish under the name sweepers look for: a sweeper can
  // never find an unlocked lab.state of a live lab.
  const std::string tmp = dir_ + "/" + kStateFileName + ".tmp";
  fd_ = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd_ < 0) throw sys_error("create " + tmp, errno);
  if (::flock(fd_, LOCK_EX) != 0) {
    int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw sys_error("flock " + tmp, err);
  }
  write(initial);
  const std::string final_path = dir_ + "/" + kStateFileName;
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) throw sys_error("rename " + tmp, errno);
}

StateFile::~StateFile() {
  if (fd_ >= 0) ::close(fd_);
}

void StateFile::write(const LabState& state) {
  if (fd_ < 0) throw std::runtime_error("lab state file already closed");
  const std::string text = state.serialize();
  // One pwrite of the whole text, then cut off leftovers of a longer previous
  // version (which the parser ignores anyway: they come after "end").
  ssize_t n = ::pwrite(fd_, text.data(), text.size(), 0);
  if (n != static_cast<ssize_t>(text.size()))
    throw sys_error("write " + dir_ + "/" + kStateFileName, n < 0 ? errno : EIO);
  if (::ftruncate(fd_, static_cast<off_t>(text.size())) != 0)
    throw sys_error("truncate " + dir_ + "/" + kStateFileName, errno);
}

void StateFile::close(bool keep) {
  if (fd_ < 0) return;
  if (keep) {
    const std::string from = dir_ + "/" + kStateFileName;
    const std::string to = from + ".done";
    ::rename(from.c_str(), to.c_str());
  }
  ::close(fd_);
  fd_ = -1;
}

// ---- sweeping ---------------------------------------------------------------

std::string SweepReport::summary() const {
  std::ostringstream out;
  out << "swept " << dirs.size() << " stale lab(s)";
  if (!dirs.empty()) {
    out << ":";
    for (const auto& d : dirs) out << ' ' << d;
    out << "; deleted " << netns.size() << " netns, killed " << killed.size() << " charon";
  }
  for (const auto& e : errors) out << "\n  problem: " << e;
  return out.str();
}

namespace {

// A process a lab starts: charon, or ndsipd. Checked so a recycled PID is never killed.
bool is_charon(pid_t pid) {
  const std::string cmd = proc::cmdline(pid);
  return cmd.find("charon-systemd") != std::string::npos || cmd.find("ndsipd") != std::string::npos;
}

// The namespace still is the one the stale lab created (not a new one that
// happens to have the same name).
bool same_netns(const LabState::Netns& n) {
  if (!starts_with(n.name, "ndsip-")) return false;
  std::uint64_t now = netns::inode(n.name);
  return now != 0 && (n.inode == 0 || n.inode == now);
}

void sweep_one(const std::string& dir, const std::string& state_path, const LabState& s,
               SweepReport& report) {
  struct Victim {
    pid_t pid;
    std::uint64_t start;
  };
  std::vector<Victim> victims;
  auto add_victim = [&](pid_t pid, std::uint64_t start) {
    for (const auto& v : victims)
      if (v.pid == pid) return;
    victims.push_back({pid, start});
  };
  for (const auto& c : s.charons)
    if (proc::alive(c.pid, c.start_time) && is_charon(c.pid)) add_victim(c.pid, c.start_time);
  // A charon forked just before the owner died may not be recorded yet.
  for (const auto& n : s.netns) {
    if (!same_netns(n)) continue;
    try {
      for (pid_t pid : netns::pids(n.name)) {
        auto start = proc::start_time(pid);
        if (start && is_charon(pid)) add_victim(pid, *start);
      }
    } catch (const std::exception& e) {
      report.errors.push_back(e.what());
    }
  }
  for (const auto& v : victims) {
    if (::kill(v.pid, SIGKILL) == 0) report.killed.push_back(v.pid);
  }
  // They are not our children; wait for them to disappear (or turn zombie).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (const auto& v : victims) {
    while (proc::alive(v.pid, v.start) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (proc::alive(v.pid, v.start))
      report.errors.push_back("charon PID " + std::to_string(v.pid) + " survived SIGKILL");
  }
  for (auto it = s.netns.rbegin(); it != s.netns.rend(); ++it) {
    if (!same_netns(*it)) continue;
    try {
      netns::del(it->name);
      report.netns.push_back(it->name);
    } catch (const std::exception& e) {
      report.errors.push_back(e.what());
    }
  }
  if (s.keep) {
    const std::string to = state_path + ".swept";
    ::rename(state_path.c_str(), to.c_str());
  } else {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ec) report.errors.push_back("remove " + dir + ": " + ec.message());
  }
  report.dirs.push_back(dir);
}

}  // namespace

SweepReport sweep_stale_labs() {
  SweepReport report;
  const std::string prefix = kLabDirPrefix;
  const auto parent = std::filesystem::path(prefix).parent_path();
  const std::string leaf = std::filesystem::path(prefix).filename().string();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(parent, ec)) {
    const std::string dir = entry.path().string();
    if (!starts_with(entry.path().filename().string(), leaf)) continue;
    struct stat dst {};
    // Only real directories of our own user: /tmp is shared.
    if (::lstat(dir.c_str(), &dst) != 0 || !S_ISDIR(dst.st_mode) || dst.st_uid != ::geteuid())
      continue;
    const std::string state_path = dir + "/" + kStateFileName;
    int fd = ::open(state_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      // Held by its live owner (leave it), or its owner is dead and another
      // sweeper is at work: wait for that one, so that stale labs are gone
      // when we return.
      auto unlocked = LabState::parse(read_fd(fd));
      if (!unlocked || proc::alive(unlocked->owner_pid, unlocked->owner_start_time)) continue;
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(15);
      bool locked = false;
      while (!(locked = ::flock(fd, LOCK_EX | LOCK_NB) == 0) &&
             std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (!locked) {
        report.errors.push_back(state_path + ": owner is gone but the lock stays held (left alone)");
        continue;
      }
    }
    struct stat fst {}, pst {};
    if (::fstat(fd, &fst) != 0 || fst.st_nlink == 0 || fst.st_uid != ::geteuid()) continue;
    // Another sweeper may have finished with this one between our open and flock.
    if (::stat(state_path.c_str(), &pst) != 0 || pst.st_ino != fst.st_ino || pst.st_dev != fst.st_dev)
      continue;
    auto state = LabState::parse(read_fd(fd));
    if (!state) {
      report.errors.push_back("unreadable " + state_path + " (left alone)");
      continue;
    }
    if (proc::alive(state->owner_pid, state->owner_start_time)) continue;
    sweep_one(dir, state_path, *state, report);
  }
  return report;
}

}  // namespace ndsip::lab
