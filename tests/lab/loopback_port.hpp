// Loopback ports for test servers (etcd, CMP): one the kernel just gave out, and whether
// something accepts connections on one. In the caller's network namespace.
#pragma once

namespace ndsip::lab {

// A port the kernel just gave out on 127.0.0.1 (bound, read, closed): free for a server to
// take, unless someone else is quicker. Throws std::runtime_error when none can be had.
int free_loopback_port();

// Whether a TCP connect to 127.0.0.1:port succeeds (a server is listening).
bool loopback_accepts(int port);

}  // namespace ndsip::lab
