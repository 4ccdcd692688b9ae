// Writing a file so that readers see the old content or the new, never a torn one: the data
// goes to "<path>.tmp" (a fresh file: whatever sat there is removed first, O_EXCL|O_NOFOLLOW
// refuses anything that appears in between), is fsync'ed, and is renamed over the path (a
// rename replaces the name itself, never a link's target). StagedFile splits the two steps so
// that files which belong together (a certificate and its key) are both on disk before either
// is renamed: the window where one is new and the other old is two renames long.
#pragma once

#include <string>

namespace ndsip::common {

class StagedFile {
 public:
  // Writes `data` to "<path>.tmp" with `mode` (whatever the umask). `durable`: fsync it (and
  // the directory at commit), so it survives a power loss. Throws std::runtime_error naming
  // the path.
  StagedFile(std::string path, const std::string& data, unsigned mode = 0640, bool durable = true);
  ~StagedFile();  // removes the temporary file unless committed
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  void commit();  // renames it over the path; throws std::runtime_error

 private:
  std::string path_, tmp_;
  bool durable_, committed_ = false;
};

// Stage and commit in one go.
void write_file_atomically(const std::string& path, const std::string& data, unsigned mode = 0640,
                           bool durable = true);

}  // namespace ndsip::common
