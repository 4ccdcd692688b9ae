// The control socket against misbehaving clients, root-free: too many connections, a byte a
// second, oversized and deeply nested requests, a shared memory budget, running out of file
// descriptors; and its path: a stale socket is replaced, a live one, a file or an unsafe
// directory refused, and the socket removed when the server goes.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "control/answer.hpp"
#include "control/client.hpp"
#include "control/protocol.hpp"
#include "control/server.hpp"
#include "support/temp_dir.hpp"

using namespace ndsip::control;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using Dir = ndsip::test::TempDir;


int connect_to(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads one answer line (or what came before EOF / the timeout).
std::string answer_of(int fd, std::chrono::milliseconds timeout = 5s) {
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string in;
  char buf[4096];
  while (in.find('\n') == std::string::npos) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
  }
  return in;
}

void send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

// A server on its own thread answering {"command": "ping"} with {"ok": true}.
struct Running {
  boost::asio::io_context io;
  std::unique_ptr<Server> server;
  std::thread thread;
  std::shared_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;

  Running(const std::string& path, Limits limits) {
    server = std::make_unique<Server>(
        io, path, "", [](const Json&, Reply reply) { reply(ok_answer()); }, limits);
    work = std::make_shared<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
        io.get_executor());
    thread = std::thread([this] { io.run(); });
  }
  ~Running() {
    boost::asio::post(io, [this] { server.reset(); });
    work.reset();
    io.stop();
    thread.join();
  }
};

const std::string ping = "{\"protocol\":1,\"command\":\"ping\"}\n";

}  // namespace

TEST(ControlServer, ConnectionsAreCappedAndIdleOnesTimedOut) {
  Dir dir;
  Limits limits;
  limits.max_connections = 4;
  limits.request_timeout = 500ms;
  Running r(dir.path("s.sock"), limits);
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(connect_to(dir.path("s.sock")));
  std::this_thread::sleep_for(100ms);
  const int fifth = connect_to(dir.path("s.sock"));
  EXPECT_NE(answer_of(fifth).find("too many connections"), std::string::npos);
  ::close(fifth);
  // A byte, then nothing: the idle ones are answered and closed when their time is up...
  send_all(idle[0], "{");
  for (int fd : idle) EXPECT_NE(answer_of(fd, 3s).find("no complete request within"), std::string::npos);
  for (int fd : idle) ::close(fd);
  // ...and their places are free again.
  std::string answer;
  for (int i = 0; i < 20 && answer.find("\"ok\":true") == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
    const int fd = connect_to(dir.path("s.sock"));
    send_all(fd, ping);
    answer = answer_of(fd);
    ::close(fd);
  }
  EXPECT_NE(answer.find("\"ok\":true"), std::string::npos) << answer;
}

TEST(ControlServer, OversizedDeepAndOverBudgetRequestsAreRefused) {
  Dir dir;
  Limits limits;
  limits.max_request_bytes = 1 << 20;
  limits.max_buffered_bytes = (1 << 20) + (1 << 19);
  Running r(dir.path("s.sock"), limits);

  int fd = connect_to(dir.path("s.sock"));
  send_all(fd, std::string(2 << 20, 'x'));
  EXPECT_NE(answer_of(fd).find("request larger than 1048576 bytes"), std::string::npos);
  ::close(fd);

  // Nesting is refused before a recursive parser sees it (it would take the stack).
  fd = connect_to(dir.path("s.sock"));
  send_all(fd, std::string(500000, '[') + "\n");
  EXPECT_NE(answer_of(fd).find("nested deeper than 8 levels"), std::string::npos);
  send_all(fd, ping);  // the connection stays usable
  EXPECT_NE(answer_of(fd).find("\"ok\":true"), std::string::npos);
  ::close(fd);

  // Two large unfinished requests together exceed the budget: the second waits its turn.
  const int a = connect_to(dir.path("s.sock"));
  send_all(a, std::string(900 << 10, ' '));
  std::this_thread::sleep_for(200ms);
  const int b = connect_to(dir.path("s.sock"));
  send_all(b, std::string(900 << 10, ' '));
  EXPECT_NE(answer_of(b).find("busy reading other large requests"), std::string::npos);
  send_all(a, ping);  // the first finishes its request normally
  EXPECT_NE(answer_of(a).find("\"ok\":true"), std::string::npos);
  ::close(a);
  ::close(b);
}

// Out of file descriptors: the server pauses accepting instead of spinning, and serves again
// once descriptors are free. The server runs in a child process with a low descriptor limit.
TEST(ControlServer, RunningOutOfDescriptorsPausesInsteadOfSpinning) {
  Dir dir;
  const std::string path = dir.path("s.sock");
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(report[0]);
    rlimit low{32, 32};
    ::setrlimit(RLIMIT_NOFILE, &low);
    boost::asio::io_context io;
    Limits limits;
    limits.max_connections = 1000;  // the descriptor limit comes first
    limits.request_timeout = 60s;
    Server server(io, path, "", [](const Json&, Reply reply) { reply(ok_answer()); }, limits);
    io.run_for(1s);  // the parent fills the descriptors meanwhile
    rusage before{}, after{};
    ::getrusage(RUSAGE_SELF, &before);
    io.run_for(2s);  // at the limit
    ::getrusage(RUSAGE_SELF, &after);
    const long cpu_ms = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) * 1000 +
                        (after.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1000 +
                        (after.ru_stime.tv_sec - before.ru_stime.tv_sec) * 1000 +
                        (after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1000;
    [[maybe_unused]] const ssize_t w = ::write(report[1], &cpu_ms, sizeof cpu_ms);
    io.run_for(4s);  // serve the parent's last request
    ::_exit(0);
  }
  ::close(report[1]);
  std::this_thread::sleep_for(300ms);
  std::vector<int> held;
  for (int i = 0; i < 60; ++i) {
    const int fd = connect_to(path);
    if (fd >= 0) held.push_back(fd);
  }
  long cpu_ms = -1;
  ASSERT_EQ(::read(report[0], &cpu_ms, sizeof cpu_ms), static_cast<ssize_t>(sizeof cpu_ms));
  ::close(report[0]);
  for (int fd : held) ::close(fd);
  std::this_thread::sleep_for(300ms);
  const int fd = connect_to(path);
  send_all(fd, ping);
  const std::string answer = answer_of(fd, 3s);
  ::close(fd);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_LT(cpu_ms, 500) << "the accept loop spun at the descriptor limit";
  EXPECT_NE(answer.find("\"ok\":true"), std::string::npos) << answer;
}

TEST(ControlSocketPath, AStaleSocketIsReplacedALiveOneAndOtherFilesAreNot) {
  Dir dir;
  const std::string path = dir.path("s.sock");
  boost::asio::io_context io;
  auto handler = [](const Json&, Reply reply) { reply(ok_answer()); };
  {
    // A stale socket of a crashed run: bound, nobody listening.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ::close(fd);
  }
  auto first = std::make_unique<Server>(io, path, "", handler);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  // A second server on the same path: the first is alive and keeps its socket.
  try {
    Server second(io, path, "", handler);
    FAIL() << "a second server took over a live socket";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("another ndsipd is serving"), std::string::npos) << e.what();
  }
  EXPECT_EQ(::access(path.c_str(), F_OK), 0);
  // Stopping removes the socket.
  first.reset();
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
  // A regular file at the path is never deleted.
  std::ofstream(path) << "precious";
  EXPECT_THROW(Server(io, path, "", handler), std::runtime_error);
  EXPECT_TRUE(fs::is_regular_file(path));
  fs::remove(path);
  // A symlink neither.
  fs::create_symlink(dir.path("elsewhere"), path);
  EXPECT_THROW(Server(io, path, "", handler), std::runtime_error);
  EXPECT_TRUE(fs::is_symlink(path));
}

TEST(ControlSocketPath, ADirectoryOthersCanWriteIsRefused) {
  Dir dir;
  fs::create_directory(dir.path("open"));
  ::chmod(dir.path("open").c_str(), 0777);
  boost::asio::io_context io;
  try {
    Server s(io, dir.path("open") + "/s.sock", "", [](const Json&, Reply) {});
    FAIL() << "a socket in a world-writable directory";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("writable by group or others"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Server(io, dir.path("s.sock"), "no-such-group-ndsip", [](const Json&, Reply) {}), std::runtime_error);
}
