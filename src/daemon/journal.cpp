#include "daemon/journal.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "daemon/state_store.hpp"

namespace ndsip::daemon {
namespace {

using nlohmann::json;

// Distinct magics, so a snapshot copied over the journal (or the reverse) is refused, not read.
constexpr std::string_view record_magic = "NDJR";
constexpr std::string_view snapshot_magic = "NDJS";
constexpr std::size_t header_size = 16;  // magic, u32 length, 8 bytes of checksum
constexpr std::size_t compact_bytes = std::size_t{1} << 20;

std::runtime_error sys_error(const std::string& what, const std::string& path) {
  return std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

// nullopt when the file does not exist; any other failure throws naming the file.
std::optional<std::string> read_if_present(const std::string& path) {
  // O_NONBLOCK: a FIFO planted at the name must not hang the open.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw sys_error("cannot open", path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error("cannot read " + path + ": not a regular file");
  }
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const auto e = sys_error("cannot read", path);
      ::close(fd);
      throw e;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

// The first 8 bytes of SHA-256 over the length field and the payload: a torn or flipped
// length is caught as well as a flipped payload byte.
std::string checksum(std::string_view length, std::string_view payload) {
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), length.data(), length.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), payload.data(), payload.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), md, &len) != 1) {
    throw std::runtime_error("SHA-256 failed (OpenSSL)");
  }
  return std::string(reinterpret_cast<const char*>(md), 8);
}

std::string frame(std::string_view magic, const std::string& payload) {
  if (payload.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw std::runtime_error("journal: a record of " + std::to_string(payload.size()) + " bytes is too large");
  }
  const auto n = static_cast<std::uint32_t>(payload.size());
  std::string out(magic);
  for (int shift = 0; shift < 32; shift += 8) out += static_cast<char>((n >> shift) & 0xffu);
  out += checksum(std::string_view(out).substr(4, 4), payload);
  out += payload;
  return out;
}

struct Frame {
  enum Status { ok, incomplete, bad } status;
  std::string_view payload;
  std::size_t end = 0;  // the byte after it
  std::string why;      // when bad
};

Frame read_frame(std::string_view bytes, std::size_t at, std::string_view magic) {
  if (bytes.size() - at < header_size) return {Frame::incomplete, {}, 0, {}};
  if (bytes.substr(at, 4) != magic) return {Frame::bad, {}, 0, "bad magic"};
  std::uint32_t n = 0;
  for (int i = 3; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[at + 4 + static_cast<std::size_t>(i)]);
  if (bytes.size() - at - header_size < n) return {Frame::incomplete, {}, 0, {}};
  const std::string_view payload = bytes.substr(at + header_size, n);
  if (checksum(bytes.substr(at + 4, 4), payload) != bytes.substr(at + 8, 8)) {
    return {Frame::bad, {}, 0, "checksum mismatch"};
  }
  return {Frame::ok, payload, at + header_size + n, {}};
}

bool string_map(const json& j, std::map<std::string, std::string>& out) {
  if (!j.is_object()) return false;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return false;
    out.emplace(k, v.get<std::string>());
  }
  return true;
}

std::optional<std::uint64_t> positive_version(const json& j) {
  const auto v = j.find("version");
  if (v == j.end() || !v->is_number_unsigned() || v->get<std::uint64_t>() == 0) return std::nullopt;
  return v->get<std::uint64_t>();
}

struct Record {
  std::uint64_t version = 0;
  ObjectChange change;
};

std::optional<Record> parse_record(std::string_view payload) {
  const json j = json::parse(payload, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  Record r;
  const auto version = positive_version(j);
  const auto put = j.find("put");
  const auto erase = j.find("erase");
  if (!version || put == j.end() || erase == j.end() || !erase->is_array() || !string_map(*put, r.change.put)) {
    return std::nullopt;
  }
  r.version = *version;
  for (const json& k : *erase) {
    if (!k.is_string()) return std::nullopt;
    r.change.erase.push_back(k.get<std::string>());
  }
  return r;
}

std::string snapshot_file(std::uint64_t version, const Objects& objects) {
  return frame(snapshot_magic, json{{"version", version}, {"objects", objects}}.dump());
}

// What the files hold: the snapshot, then the records applied up to `stop`; the rest only
// checked, so replay knows where the intact records end.
struct Scan {
  bool snapshot_present = false;
  std::uint64_t snapshot_version = 0;
  std::size_t snapshot_bytes = 0;
  Objects objects;             // at `version`
  std::uint64_t version = 0;   // min(stop, newest intact record), or the snapshot's version
  std::size_t stop_end = 0;    // where the records after `stop` begin
  std::string journal;         // the journal file's bytes
  std::size_t intact = 0;      // length of the intact records: where a new record goes
  std::size_t records = 0;     // intact records, including those at or below the snapshot
  std::uint64_t last = 0;      // the newest intact record's version, 0 when none
  std::string note;
};

Scan scan(const std::string& snapshot_path, const std::string& journal_path, std::uint64_t stop) {
  Scan s;
  s.journal = read_if_present(journal_path).value_or(std::string());
  const auto snapshot = read_if_present(snapshot_path);
  if (!snapshot) {
    if (!s.journal.empty()) {
      throw std::runtime_error("journal: " + snapshot_path + " is missing but " + journal_path +
                               " holds records; refusing to start from an empty state (restore the snapshot)");
    }
    return s;
  }
  const Frame f = read_frame(*snapshot, 0, snapshot_magic);
  json doc;
  if (f.status == Frame::ok && f.end == snapshot->size()) doc = json::parse(f.payload, nullptr, false);
  const auto version = doc.is_object() ? doc.find("version") : doc.end();
  if (!doc.is_object() || version == doc.end() || !version->is_number_unsigned() || !doc.contains("objects") ||
      !string_map(doc["objects"], s.objects)) {
    const std::string why = f.status == Frame::ok ? "unreadable content" : f.status == Frame::bad ? f.why : "truncated";
    throw std::runtime_error("journal: snapshot " + snapshot_path + " is corrupt (" + why +
                             "); refusing to start without it");
  }
  s.snapshot_present = true;
  s.snapshot_version = s.version = version->get<std::uint64_t>();
  s.snapshot_bytes = snapshot->size();

  std::size_t at = 0;
  while (at < s.journal.size()) {
    const Frame r = read_frame(s.journal, at, record_magic);
    const std::uint64_t expected = s.records ? s.last + 1 : s.snapshot_version + 1;
    std::optional<Record> rec;
    std::string why = r.why;
    if (r.status == Frame::ok) {
      rec = parse_record(r.payload);
      if (!rec) {
        why = "unreadable payload";
      } else if (s.records && rec->version != expected) {
        why = "version " + std::to_string(rec->version) + " where " + std::to_string(expected) + " was expected";
        rec.reset();
      }
    }
    if (!rec) {
      const std::size_t dropped = s.journal.size() - at;
      s.note = "journal " + journal_path + ": dropped " +
               (r.status == Frame::incomplete
                    ? "a torn record at byte " + std::to_string(at) + " (version " + std::to_string(expected) +
                          " not written completely, " + std::to_string(dropped) + " bytes)"
                    : "a corrupt record at byte " + std::to_string(at) + " (" + why + ") and everything after it (" +
                          std::to_string(dropped) + " bytes)");
      break;
    }
    // Records at or below the snapshot's version are left over from a compaction cut short:
    // skipped. A first record beyond the next version means the snapshot is older than the
    // journal: the versions in between are gone.
    if (!s.records && rec->version > expected) {
      throw std::runtime_error("journal: " + journal_path + " starts at version " + std::to_string(rec->version) +
                               " but snapshot " + snapshot_path + " is at version " +
                               std::to_string(s.snapshot_version) + "; the versions in between are missing");
    }
    if (rec->version <= stop) {
      if (rec->version > s.snapshot_version) {
        apply_change(s.objects, rec->change);
        s.version = rec->version;
      }
      s.stop_end = r.end;
    }
    s.last = rec->version;
    ++s.records;
    at = r.end;
  }
  s.intact = at;
  if (s.records && s.last < s.snapshot_version) {
    // Only after a corrupt record: what is left is all in the snapshot already, and a record
    // appended after it would break the sequence.
    s.intact = s.stop_end = s.records = 0;
    s.last = 0;
  }
  return s;
}

}  // namespace

ObjectChange change_between(const Objects& before, const Objects& after) {
  ObjectChange c;
  for (const auto& [key, content] : after) {
    const auto it = before.find(key);
    if (it == before.end() || it->second != content) c.put.emplace(key, content);
  }
  for (const auto& [key, content] : before) {
    if (!after.count(key)) c.erase.push_back(key);
  }
  return c;
}

void apply_change(Objects& objects, const ObjectChange& change) {
  for (const std::string& key : change.erase) objects.erase(key);
  for (const auto& [key, content] : change.put) objects.insert_or_assign(key, content);
}

Journal::Journal(std::string dir, bool writable) : dir_(std::move(dir)), writable_(writable) {
  Scan s = scan(snapshot_path(), journal_path(), std::numeric_limits<std::uint64_t>::max());
  if (!s.snapshot_present && writable_) {
    // The snapshot exists before any record: a journal without one is then always an error.
    const std::string empty = snapshot_file(0, {});
    common::write_file_atomically(snapshot_path(), empty);
    s.snapshot_bytes = empty.size();
  }
  version_ = s.version;
  current_ = std::move(s.objects);
  snapshot_version_ = s.snapshot_version;
  snapshot_bytes_ = s.snapshot_bytes;
  journal_bytes_ = s.intact;
  journal_records_ = s.records;
  recovery_note_ = std::move(s.note);
  if (!writable_) return;
  open_for_append();
  if (s.journal.size() > s.intact) {
    // Cut what replay dropped, so the next record follows the intact ones.
    if (::ftruncate(fd_, static_cast<off_t>(s.intact)) != 0 || ::fsync(fd_) != 0) {
      throw sys_error("cannot truncate", journal_path());
    }
  }
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

void Journal::open_for_append() {
  const std::string path = journal_path();
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0640);
  if (fd < 0) throw sys_error("cannot open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error("cannot use " + path + ": not a regular file");
  }
  // The file may have just been created: its name must survive a power loss too.
  const int d = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d >= 0) {
    ::fsync(d);
    ::close(d);
  }
  fd_ = fd;
}

std::vector<std::uint64_t> Journal::versions() const {
  std::vector<std::uint64_t> out;
  if (version_ == 0) return out;
  const std::uint64_t oldest = version_ >= history_size ? version_ - history_size + 1 : 1;
  for (std::uint64_t v = std::max<std::uint64_t>({oldest, snapshot_version_, 1}); v <= version_; ++v) {
    out.push_back(v);
  }
  return out;
}

std::optional<Objects> Journal::read(std::uint64_t version) const {
  const auto kept = versions();
  if (kept.empty() || version < kept.front() || version > kept.back()) return std::nullopt;
  if (version == version_) return current_;
  Scan s = scan(snapshot_path(), journal_path(), version);
  if (s.version != version) return std::nullopt;  // the files changed under us (another process)
  return std::move(s.objects);
}

std::uint64_t Journal::append(const ObjectChange& change, Compaction compaction) {
  const std::string path = journal_path();
  if (!writable_) throw std::runtime_error("journal " + path + " is open read-only");
  const std::uint64_t next = version_ + 1;
  std::string record;
  try {
    record = frame(record_magic, json{{"version", next}, {"put", change.put}, {"erase", change.erase}}.dump());
  } catch (const json::exception& e) {  // not UTF-8
    throw std::runtime_error("journal " + path + ": cannot encode version " + std::to_string(next) + ": " + e.what());
  }
  if (fd_ < 0) open_for_append();
  if (cut_pending_) {
    if (::ftruncate(fd_, static_cast<off_t>(journal_bytes_)) != 0) throw sys_error("cannot truncate", path);
    cut_pending_ = false;
  }
  // On failure, cut off what part of the record reached the file: the next record must follow
  // the intact ones. If even that fails, it is retried before the next write.
  const auto fail = [&](const char* what) {
    const auto e = sys_error(what, path);
    if (::ftruncate(fd_, static_cast<off_t>(journal_bytes_)) != 0 || ::fdatasync(fd_) != 0) cut_pending_ = true;
    return e;
  };
  std::size_t done = 0;
  while (done < record.size()) {
    const ssize_t n = ::write(fd_, record.data() + done, record.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = ENOSPC;
      throw fail("cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd_) != 0) throw fail("cannot fdatasync");

  apply_change(current_, change);
  version_ = next;
  journal_bytes_ += record.size();
  ++journal_records_;

  if (compaction == Compaction::when_due) compact_if_due();
  return version_;
}

void Journal::compact_if_due() {
  // Only when it makes progress (the new snapshot is newer than the old one).
  const bool due = version_ >= history_size && version_ - history_size + 1 > snapshot_version_ &&
                   (journal_records_ > 2 * history_size ||
                    (journal_bytes_ > snapshot_bytes_ && journal_bytes_ > compact_bytes));
  if (!due || !writable_) return;
  // The records are durable: failing their append for this would be a lie. Retried next time.
  try {
    compact();
    compaction_error_.clear();
  } catch (const std::exception& e) {
    compaction_error_ = e.what();
  }
}

void Journal::compact() {
  // The oldest retained version becomes the snapshot, so every retained version stays
  // reconstructable. Replaying from the files costs O(all objects): that is why it is rare.
  const std::uint64_t base = version_ - history_size + 1;
  const std::string path = journal_path();
  Scan s = scan(snapshot_path(), path, base);
  if (s.version != base || s.last != version_ || s.intact != journal_bytes_) {
    throw std::runtime_error("journal " + path + " changed on disk; not compacting");
  }
  const std::string snapshot = snapshot_file(base, s.objects);
  common::write_file_atomically(snapshot_path(), snapshot);
  // From here on the old journal's records up to `base` are skipped at replay: replacing the
  // journal only gives the space back.
  snapshot_version_ = base;
  snapshot_bytes_ = snapshot.size();

  struct stat before {};
  if (::stat(path.c_str(), &before) != 0) throw sys_error("cannot stat", path);
  std::exception_ptr failure;
  bool replaced = true;
  try {
    common::write_file_atomically(path, s.journal.substr(s.stop_end, s.intact - s.stop_end));
  } catch (...) {
    // Only the directory fsync fails after the rename: then the new journal is in place.
    failure = std::current_exception();
    struct stat now {};
    replaced = ::stat(path.c_str(), &now) == 0 && now.st_ino != before.st_ino;
  }
  if (replaced) {
    // Our descriptor still points at the old file: appends must go to the new one.
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    cut_pending_ = false;
    journal_bytes_ = s.intact - s.stop_end;
    journal_records_ = static_cast<std::size_t>(version_ - base);
  }
  if (failure) std::rethrow_exception(failure);
  open_for_append();  // if this fails, append opens it again
}

}  // namespace ndsip::daemon
