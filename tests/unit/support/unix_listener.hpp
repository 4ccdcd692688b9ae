// A listening unix socket in a fresh temporary directory, removed with it: where the test
// peers (fake_vici_peer.hpp, scripted_charon.hpp) wait for ndsip's VICI client.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace ndsip::test {

class UnixListener {
 public:
  explicit UnixListener(const std::string& name) {
    char tmpl[] = "/tmp/ndsip-peer-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    path_ = dir_ + "/" + name;
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 4) != 0) {
      throw std::runtime_error("cannot listen on " + path_);
    }
  }
  ~UnixListener() {
    ::close(fd_);
    std::filesystem::remove_all(dir_);
  }
  UnixListener(const UnixListener&) = delete;
  UnixListener& operator=(const UnixListener&) = delete;

  int fd() const { return fd_; }
  std::string uri() const { return "unix://" + path_; }

 private:
  std::string dir_, path_;
  int fd_ = -1;
};

}  // namespace ndsip::test
