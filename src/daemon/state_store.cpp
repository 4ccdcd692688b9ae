#include "daemon/state_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "common/private_dir.hpp"
#include "common/read_file.hpp"
#include "topology/state.hpp"

namespace ndsip::daemon {
namespace fs = std::filesystem;

namespace {

std::runtime_error sys_error(const std::string& what, const std::string& path) {
  return std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

StateStore::StateStore(std::string dir, Access access) : dir_(std::move(dir)) {
  const std::string topology_dir = dir_ + "/topology";
  if (access == Access::read_only) {
    common::check_private_directory(dir_, "state directory");
    // A state directory that never held a journal reads as empty.
    if (fs::is_directory(topology_dir)) common::check_private_directory(topology_dir, "state directory");
    journal_ = std::make_unique<Journal>(topology_dir, false);
    return;
  }
  std::error_code ec;
  fs::create_directories(fs::path(dir_).parent_path(), ec);
  // Created private (0750, whatever the umask), so the check below holds for a fresh one.
  for (const std::string& d : {dir_, topology_dir}) {
    if (::mkdir(d.c_str(), 0750) != 0 && errno != EEXIST) throw sys_error("cannot create state directory", d);
  }
  common::check_private_directory(dir_, "state directory");
  common::check_private_directory(topology_dir, "state directory");
  // One ndsipd per state directory: a second one must not write beside the first (nor go on
  // to take its control socket).
  const std::string lock = dir_ + "/lock";
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) throw sys_error("cannot open", lock);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    [[maybe_unused]] const ssize_t n = ::pread(lock_fd_, pid, sizeof pid - 1, 0);
    ::close(lock_fd_);
    lock_fd_ = -1;
    std::string holder(pid);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    throw std::runtime_error("state directory " + dir_ + " is in use by another ndsipd" +
                             (holder.empty() ? std::string() : " (pid " + holder + ")") + "; one ndsipd per host");
  }
  const std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 || ::pwrite(lock_fd_, me.data(), me.size(), 0) < 0) {
    // The pid is a courtesy for the error above; the lock itself is what counts.
  }
  try {
    journal_ = std::make_unique<Journal>(topology_dir, true);
  } catch (...) {
    ::close(lock_fd_);
    throw;
  }
  if (journal_->version() == 0) import_history();
}

StateStore::~StateStore() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void StateStore::import_history() {
  // history/NNNNNNNN.json, as ndsipd kept accepted topologies before the journal.
  std::vector<std::pair<std::uint64_t, fs::path>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(dir_) / "history", ec)) {
    const std::string stem = e.path().stem().string();
    if (e.path().extension() != ".json" || stem.empty() || stem.size() > 18 ||
        !std::all_of(stem.begin(), stem.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    found.emplace_back(std::stoull(stem), e.path());
  }
  std::sort(found.begin(), found.end());
  for (const auto& [version, path] : found) {
    const auto text = common::read_file(path);
    try {
      if (text) accept(*text);
    } catch (const std::invalid_argument&) {
      // A file torn by a crash of the old store: the versions before and after still count.
    }
  }
}

std::uint64_t StateStore::accept(const std::string& text) {
  topology::TopologyState state;
  const topology::Proposal p = state.propose(text);
  if (p.checked_in_full && !p.problems.empty()) {
    throw std::invalid_argument("not a topology that can be stored: " + p.problems.front().to_string());
  }
  state.commit();
  const ObjectChange change = change_between(journal_->current(), state.objects());
  return journal_->append(change);
}

std::optional<StoredTopology> StateStore::read(std::uint64_t version) const {
  if (version == journal_->version() && version != 0) return StoredTopology{version, topology::assemble(journal_->current())};
  auto objects = journal_->read(version);
  if (!objects) return std::nullopt;
  return StoredTopology{version, topology::assemble(*objects)};
}

std::optional<StoredTopology> StateStore::current() const {
  if (journal_->version() == 0) return std::nullopt;
  return read(journal_->version());
}

std::optional<StoredTopology> StateStore::previous() const {
  const auto versions = journal_->versions();
  if (versions.size() < 2) return std::nullopt;
  return read(versions[versions.size() - 2]);
}

namespace {

// A name -> name map kept as a cache (applied digests, SEG choices): if a crash loses it,
// ndsipd works it out again (re-sends load-conn, which charon treats as a no-op for
// identical content; starts from the preferred SEGs). So no fsync.
void save_names(const fs::path& path, const std::map<std::string, std::string>& names) {
  common::write_file_atomically(path.string(), nlohmann::json(names).dump(1) + "\n", 0640, false);
}

std::map<std::string, std::string> load_names(const fs::path& path) {
  const auto text = common::read_file(path);
  if (!text) return {};
  const auto doc = nlohmann::json::parse(*text, nullptr, false);
  std::map<std::string, std::string> out;
  if (!doc.is_object()) return out;  // unreadable: as if missing
  for (const auto& [k, v] : doc.items()) {
    if (v.is_string()) out.emplace(k, v.get<std::string>());
  }
  return out;
}

}  // namespace

void StateStore::save_applied(const reconcile::Applied& applied) { save_names(fs::path(dir_) / "applied.json", applied); }

reconcile::Applied StateStore::load_applied() const { return load_names(fs::path(dir_) / "applied.json"); }

void StateStore::save_seg_choices(const std::map<std::string, std::string>& choices) {
  save_names(fs::path(dir_) / "seg-choices.json", choices);
}

std::map<std::string, std::string> StateStore::load_seg_choices() const {
  return load_names(fs::path(dir_) / "seg-choices.json");
}

}  // namespace ndsip::daemon
