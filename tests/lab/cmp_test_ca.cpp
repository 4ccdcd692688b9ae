#include "lab/cmp_test_ca.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/cmp.h>
#include <openssl/crmf.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "lab/netns_thread.hpp"

namespace ndsip::lab {

namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using MsgPtr = std::unique_ptr<OSSL_CMP_MSG, Deleter<OSSL_CMP_MSG_free>>;
using SrvPtr = std::unique_ptr<OSSL_CMP_SRV_CTX, Deleter<OSSL_CMP_SRV_CTX_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

constexpr std::size_t kMaxRequest = 64 * 1024;           // an ir/kur is 1-3 KiB
constexpr std::chrono::seconds kRequestTimeout{10};      // a stuck client must not block the rest

// `what` with OpenSSL's error queue appended (and emptied).
std::string openssl_error(const std::string& what) {
  std::string s = what;
  char buf[256];
  while (const unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    s += ": ";
    s += buf;
  }
  return s;
}

BioPtr open_file(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) throw std::runtime_error(openssl_error("cannot open " + path));
  return bio;
}

std::vector<X509Ptr> load_certs(const std::string& path) {
  const BioPtr bio = open_file(path);
  std::vector<X509Ptr> certs;
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.emplace_back(c);
  ERR_clear_error();  // the end of the file reads as "no start line"
  if (certs.empty()) throw std::runtime_error("no certificate in " + path);
  return certs;
}

PkeyPtr load_key(const std::string& path) {
  const BioPtr bio = open_file(path);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) throw std::runtime_error(openssl_error("no private key in " + path));
  return key;
}

std::string to_pem(X509* cert) {
  const BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) throw std::runtime_error(openssl_error("PEM_write_bio_X509"));
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// ---- DER walking: OpenSSL 3.0 has no accessors for what we need below -------------------

struct Tlv {
  int tag = 0, xclass = 0;
  const unsigned char* begin = nullptr;    // the identifier octet
  const unsigned char* content = nullptr;  // the value
  long length = 0;
  const unsigned char* end() const { return content + length; }
  bool context(int t) const { return xclass == V_ASN1_CONTEXT_SPECIFIC && tag == t; }
};

// The elements one level inside [p, p + len) (the content of a constructed element);
// std::nullopt if it is not well-formed DER.
std::optional<std::vector<Tlv>> elements(const unsigned char* p, long len) {
  std::vector<Tlv> out;
  const unsigned char* const end = p + len;
  while (p < end) {
    Tlv t;
    t.begin = p;
    const int r = ASN1_get_object(&p, &t.length, &t.tag, &t.xclass, end - p);
    if ((r & 0x80) != 0 || r == 0x21) {  // error, or indefinite length (BER, not DER)
      ERR_clear_error();
      return std::nullopt;
    }
    t.content = p;
    p += t.length;
    out.push_back(t);
  }
  return out;
}

std::optional<std::vector<Tlv>> elements(const Tlv& t) { return elements(t.content, t.length); }

// The publicKey of a CertTemplate (RFC 4211: [6] IMPLICIT SubjectPublicKeyInfo). OpenSSL 3.0
// lacks OSSL_CRMF_CERTTEMPLATE_get0_publicKey, so re-tag the element as the SEQUENCE it is.
PkeyPtr template_public_key(const OSSL_CRMF_CERTTEMPLATE* tmpl) {
  unsigned char* der = nullptr;
  const int len = i2d_OSSL_CRMF_CERTTEMPLATE(tmpl, &der);
  if (len <= 0) return nullptr;
  PkeyPtr key;
  const auto top = elements(der, len);
  const auto fields = top && top->size() == 1 ? elements(top->front()) : std::nullopt;
  for (const Tlv& f : fields.value_or(std::vector<Tlv>{})) {
    if (!f.context(6)) continue;
    std::vector<unsigned char> spki(f.begin, f.end());
    spki[0] = V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED;
    const unsigned char* p = spki.data();
    key.reset(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
  }
  OPENSSL_free(der);
  return key;
}

// What the server callback needs from a request but cannot get from OpenSSL 3.0's API:
// the protection algorithm, the senderKID and the protecting certificate (extraCerts[0]).
struct RequestInfo {
  bool pbm = false;
  std::string sender_kid;
  X509Ptr protecting_cert;
};

// PKIMessage ::= SEQUENCE { header PKIHeader, body, [0] protection OPTIONAL,
//                           [1] extraCerts SEQUENCE OF CMPCertificate OPTIONAL }
// PKIHeader ::= SEQUENCE { pvno, sender, recipient, [0] messageTime, [1] protectionAlg,
//                          [2] senderKID, ... }   (EXPLICIT tags: each wraps its value)
RequestInfo peek(const std::string& der) {
  RequestInfo info;
  const auto top = elements(reinterpret_cast<const unsigned char*>(der.data()), static_cast<long>(der.size()));
  const auto msg = top && top->size() == 1 ? elements(top->front()) : std::nullopt;
  if (!msg || msg->size() < 2) return info;
  for (const Tlv& h : elements((*msg)[0]).value_or(std::vector<Tlv>{})) {
    if (!h.context(1) && !h.context(2)) continue;
    const auto inner = elements(h);
    if (!inner || inner->size() != 1) continue;
    if (h.context(1)) {  // AlgorithmIdentifier: its first element is the OID
      const auto alg = elements(inner->front());
      if (!alg || alg->empty()) continue;
      const unsigned char* p = alg->front().begin;
      ASN1_OBJECT* oid = d2i_ASN1_OBJECT(nullptr, &p, alg->front().end() - p);
      info.pbm = oid != nullptr && OBJ_obj2nid(oid) == NID_id_PasswordBasedMAC;
      ASN1_OBJECT_free(oid);
    } else if (h.context(2)) {
      const Tlv& kid = inner->front();
      info.sender_kid.assign(reinterpret_cast<const char*>(kid.content), static_cast<std::size_t>(kid.length));
    }
  }
  // Only after header and body: the body's CHOICE tags ([0] ir, [1] ip, ...) look alike.
  for (std::size_t i = 2; i < msg->size(); ++i) {
    if (!(*msg)[i].context(1)) continue;
    const auto seq = elements((*msg)[i]);
    const auto certs = seq && seq->size() == 1 ? elements(seq->front()) : std::nullopt;
    if (!certs || certs->empty()) continue;
    const unsigned char* p = certs->front().begin;
    info.protecting_cert.reset(d2i_X509(nullptr, &p, certs->front().end() - p));
  }
  ERR_clear_error();
  return info;
}

// ---- sockets ------------------------------------------------------------------------------

int make_listener(const std::string& address, std::uint16_t port, std::uint16_t* bound_port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
  } else {
    throw std::runtime_error("CmpTestCa: not an IP address: " + address);
  }
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 16) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error("CmpTestCa: listen on " + address + ":" + std::to_string(port) + ": " +
                             std::strerror(err));
  }
  *bound_port = ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  return fd;
}

// Waits until fd is readable (timeout_ms -1: no limit); false on timeout or once stop_fd is
// readable (the destructor's wake-up, which stays readable).
bool wait_readable(int fd, int stop_fd, int timeout_ms) {
  for (;;) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    const int r = ::poll(fds, 2, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    return r > 0 && fds[1].revents == 0 && fds[0].revents != 0;
  }
}

void send_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the client went away: nothing to tell it
    done += static_cast<std::size_t>(n);
  }
}

void respond(int fd, const std::string& status, const std::string& type, const std::string& body) {
  send_all(fd, "HTTP/1.0 " + status + "\r\nContent-Type: " + type + "\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Parses the head of a request (up to the blank line) and returns the body length, or the
// HTTP status to answer in *error.
std::optional<std::size_t> parse_head(const std::string& head, std::string* error) {
  const std::string method = head.substr(0, head.find(' '));
  std::string content_type;
  std::optional<std::size_t> length;
  for (std::size_t p = head.find("\r\n"); p != std::string::npos && p + 2 < head.size();) {
    const std::size_t eol = head.find("\r\n", p + 2);
    const std::string line = head.substr(p + 2, eol - p - 2);
    p = eol;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string name = lower(trim(line.substr(0, colon))), value = trim(line.substr(colon + 1));
    if (name == "content-type") content_type = lower(trim(value.substr(0, value.find(';'))));
    if (name == "content-length" && !value.empty() && value.find_first_not_of("0123456789") == std::string::npos &&
        value.size() < 10)
      length = std::stoul(value);
  }
  if (method != "POST") *error = "405 Method Not Allowed";
  else if (!length) *error = "411 Length Required";
  else if (*length > kMaxRequest) *error = "413 Content Too Large";
  else if (content_type != "application/pkixcmp") *error = "415 Unsupported Media Type";
  return error->empty() ? length : std::nullopt;
}

// Reads one request's body (RFC 6712: a POST of application/pkixcmp) within kMaxRequest
// bytes and kRequestTimeout. On failure returns nullopt with *error set to the HTTP status to
// answer ("" when there is no one to answer: the client left, or the server is stopping).
std::optional<std::string> read_request(int fd, int stop_fd, std::string* error) {
  const auto deadline = std::chrono::steady_clock::now() + kRequestTimeout;
  std::string data;
  std::size_t body_at = std::string::npos, body_length = 0;
  *error = "";
  for (;;) {
    if (body_at == std::string::npos) {
      const std::size_t blank = data.find("\r\n\r\n");
      if (blank != std::string::npos) {
        const auto length = parse_head(data.substr(0, blank + 2), error);
        if (!length) return std::nullopt;
        body_at = blank + 4;
        body_length = *length;
      } else if (data.size() > kMaxRequest) {
        *error = "431 Request Header Fields Too Large";
        return std::nullopt;
      }
    }
    if (body_at != std::string::npos && data.size() >= body_at + body_length)
      return data.substr(body_at, body_length);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      *error = "408 Request Timeout";
      return std::nullopt;
    }
    if (!wait_readable(fd, stop_fd, static_cast<int>(left.count()))) {
      if (std::chrono::steady_clock::now() >= deadline) *error = "408 Request Timeout";
      return std::nullopt;
    }
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    data.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

// ---- the CA -------------------------------------------------------------------------------

struct CmpTestCa::Impl {
  Options opt;
  X509Ptr ca_cert;
  PkeyPtr ca_key;
  SrvPtr srv;
  int listen_fd = -1;
  int stop_pipe[2] = {-1, -1};
  std::uint16_t port = 0;
  std::thread thread;
  mutable std::mutex mutex;
  std::vector<std::string> issued;  // guarded by mutex
  std::atomic<std::size_t> requests{0};
  RequestInfo current;  // the request being processed (server thread only)

  explicit Impl(Options o);
  ~Impl();
  void setup_server();
  void serve();
  void handle(int fd);
  std::string process(const std::string& der);
  OSSL_CMP_PKISI* issue(const OSSL_CMP_MSG* req, const OSSL_CRMF_MSG* crm, X509** cert_out,
                        STACK_OF(X509) * *chain_out, STACK_OF(X509) * *ca_pubs);
};

CmpTestCa::Impl::Impl(Options o) : opt(std::move(o)) {
  ca_cert = std::move(load_certs(opt.ca_cert_pem_file).front());
  ca_key = load_key(opt.ca_key_pem_file);
  if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1)
    throw std::runtime_error(openssl_error("CmpTestCa: CA key does not match " + opt.ca_cert_pem_file));
  setup_server();
  // Created in the namespace's own thread: a socket keeps the namespace it was made in.
  if (opt.netns.empty())
    listen_fd = make_listener(opt.address, opt.port, &port);
  else
    listen_fd = in_netns(opt.netns, [a = opt.address, p = opt.port, bp = &port] { return make_listener(a, p, bp); }).get();
  if (::pipe2(stop_pipe, O_CLOEXEC) != 0) {
    ::close(listen_fd);
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  }
  thread = std::thread([this] { serve(); });
}

CmpTestCa::Impl::~Impl() {
  if (thread.joinable()) {
    const char stop = 1;
    while (::write(stop_pipe[1], &stop, 1) < 0 && errno == EINTR) {
    }
    thread.join();
  }
  for (const int fd : {listen_fd, stop_pipe[0], stop_pipe[1]})
    if (fd >= 0) ::close(fd);
}

void CmpTestCa::Impl::setup_server() {
  srv.reset(OSSL_CMP_SRV_CTX_new(nullptr, nullptr));
  if (!srv) throw std::runtime_error(openssl_error("OSSL_CMP_SRV_CTX_new"));
  auto cert_request = [](OSSL_CMP_SRV_CTX* s, const OSSL_CMP_MSG* req, int, const OSSL_CRMF_MSG* crm,
                         const X509_REQ* p10cr, X509** cert_out, STACK_OF(X509) * *chain_out,
                         STACK_OF(X509) * *ca_pubs) -> OSSL_CMP_PKISI* {
    if (p10cr != nullptr)
      return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_rejection, 1 << OSSL_CMP_PKIFAILUREINFO_badRequest,
                                     "p10cr not supported by this test CA");
    auto* self = static_cast<Impl*>(OSSL_CMP_SRV_CTX_get0_custom_ctx(s));
    return self->issue(req, crm, cert_out, chain_out, ca_pubs);
  };
  // The client's certConf: accepted as it is (the test looks at what the client saved).
  auto cert_conf = [](OSSL_CMP_SRV_CTX*, const OSSL_CMP_MSG*, int, const ASN1_OCTET_STRING*,
                      const OSSL_CMP_PKISI*) -> int { return 1; };
  auto error = [](OSSL_CMP_SRV_CTX*, const OSSL_CMP_MSG*, const OSSL_CMP_PKISI*, const ASN1_INTEGER*,
                  const OSSL_CMP_PKIFREETEXT*) {};
  // Without callbacks for rr, genm and pollReq those are answered "unsupported".
  if (OSSL_CMP_SRV_CTX_init(srv.get(), this, cert_request, nullptr, nullptr, error, cert_conf, nullptr) != 1)
    throw std::runtime_error(openssl_error("OSSL_CMP_SRV_CTX_init"));

  OSSL_CMP_CTX* ctx = OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv.get());
  OSSL_CMP_CTX_set_log_verbosity(ctx, OSSL_CMP_LOG_WARNING);  // refusals say why on stderr
  // The response signer; any further certificates in its file (and the CA) let OpenSSL send
  // its chain in extraCerts.
  auto signer = load_certs(opt.signer_cert_file.empty() ? opt.ca_cert_pem_file : opt.signer_cert_file);
  if ((X509_get_key_usage(signer.front().get()) & KU_DIGITAL_SIGNATURE) == 0)
    std::cerr << "CmpTestCa: the response signer lacks keyUsage digitalSignature: OpenSSL's client "
                 "refuses signed answers (only PBM answers to PBM requests will do)\n";
  const PkeyPtr signer_key = load_key(opt.signer_key_file.empty() ? opt.ca_key_pem_file : opt.signer_key_file);
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (std::size_t i = 1; i < signer.size(); ++i) sk_X509_push(untrusted, signer[i].get());
  sk_X509_push(untrusted, ca_cert.get());
  const int untrusted_ok = OSSL_CMP_CTX_set1_untrusted(ctx, untrusted);  // up-refs the certificates
  sk_X509_free(untrusted);
  // Requests with signature protection must chain to trusted_file; an empty store refuses them all.
  X509_STORE* trusted = X509_STORE_new();
  if (trusted != nullptr && !opt.trusted_file.empty() && X509_STORE_load_file(trusted, opt.trusted_file.c_str()) != 1) {
    X509_STORE_free(trusted);
    throw std::runtime_error(openssl_error("CmpTestCa: cannot load " + opt.trusted_file));
  }
  if (OSSL_CMP_CTX_set0_trustedStore(ctx, trusted) != 1 || untrusted_ok != 1 ||
      OSSL_CMP_CTX_set1_cert(ctx, signer.front().get()) != 1 || OSSL_CMP_CTX_set1_pkey(ctx, signer_key.get()) != 1)
    throw std::runtime_error(openssl_error("CmpTestCa: server context"));
  // Proof of possession is checked by OpenSSL (accept_raverified stays off); requests must be
  // protected, and so are our error answers. A client asking for implicitConfirm gets it
  // (no certConf round), as CAs commonly allow.
  OSSL_CMP_SRV_CTX_set_accept_raverified(srv.get(), 0);
  OSSL_CMP_SRV_CTX_set_accept_unprotected(srv.get(), 0);
  OSSL_CMP_SRV_CTX_set_send_unprotected_errors(srv.get(), 0);
  OSSL_CMP_SRV_CTX_set_grant_implicit_confirm(srv.get(), 1);
}

OSSL_CMP_PKISI* CmpTestCa::Impl::issue(const OSSL_CMP_MSG* req, const OSSL_CRMF_MSG* crm, X509** cert_out,
                                       STACK_OF(X509) * *chain_out, STACK_OF(X509) * *ca_pubs) {
  auto reject = [](const char* why) {
    std::cerr << "CmpTestCa: rejected: " << why << "\n";
    return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_rejection, 1 << OSSL_CMP_PKIFAILUREINFO_badCertTemplate, why);
  };
  // OpenSSL 3.0 keeps OSSL_CMP_PKIBODY_* internal; the request types OSSL_CMP_IR/KUR are the
  // same body numbers (RFC 4210: ir [0], kur [7]).
  const bool kur = OSSL_CMP_MSG_get_bodytype(req) == OSSL_CMP_KUR;
  const OSSL_CRMF_CERTTEMPLATE* tmpl = OSSL_CRMF_MSG_get0_tmpl(crm);
  PkeyPtr key = template_public_key(tmpl);
  if (!key) return reject("no public key in the certificate template");
  X509* old = kur ? current.protecting_cert.get() : nullptr;  // RFC 4210 5.1.1: extraCerts[0]
  // (OpenSSL's PoP check already refuses a signature PoP without a template subject, so the
  // old subject is only a fallback for what gets past it.)
  const X509_NAME* subject = OSSL_CRMF_CERTTEMPLATE_get0_subject(tmpl);
  if ((subject == nullptr || X509_NAME_entry_count(subject) == 0) && old != nullptr)
    subject = X509_get_subject_name(old);
  if (subject == nullptr || X509_NAME_entry_count(subject) == 0) return reject("no subject in the template");

  X509Ptr cert(X509_new());
  BnPtr serial(BN_new());
  bool ok = cert && serial && X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
            BN_rand(serial.get(), 64, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) == 1 &&
            BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr &&
            X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get())) == 1 &&
            X509_set_subject_name(cert.get(), subject) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), opt.lifetime) != nullptr &&
            X509_set_pubkey(cert.get(), key.get()) == 1;

  // subjectAltName as asked for; a kur that asks for none keeps the old certificate's.
  const X509_EXTENSIONS* asked = OSSL_CRMF_CERTTEMPLATE_get0_extensions(tmpl);
  const int san = asked != nullptr ? X509v3_get_ext_by_NID(asked, NID_subject_alt_name, -1) : -1;
  const int old_san = old != nullptr ? X509_get_ext_by_NID(old, NID_subject_alt_name, -1) : -1;
  if (san >= 0)
    ok = ok && X509_add_ext(cert.get(), X509v3_get_ext(asked, san), -1) == 1;
  else if (old_san >= 0)
    ok = ok && X509_add_ext(cert.get(), X509_get_ext(old, old_san), -1) == 1;
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, ca_cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_basic_constraints, "CA:FALSE"},
                                   {NID_key_usage, "critical,digitalSignature"},
                                   {NID_subject_key_identifier, "hash"},
                                   {NID_authority_key_identifier, "keyid"}}) {
    const ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &v3, nid, value));
    ok = ok && ext && X509_add_ext(cert.get(), ext.get(), -1) == 1;
  }
  const EVP_MD* md = opt.digest.empty() ? nullptr : EVP_get_digestbyname(opt.digest.c_str());
  ok = ok && (md != nullptr || opt.digest.empty()) && X509_sign(cert.get(), ca_key.get(), md) > 0;
  if (!ok) {
    std::cerr << openssl_error("CmpTestCa: cannot issue") << "\n";
    return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_rejection, 1 << OSSL_CMP_PKIFAILUREINFO_systemFailure,
                                   "cannot issue");
  }
  {
    const std::lock_guard lock(mutex);
    issued.push_back(to_pem(cert.get()));
  }
  // The CA certificate goes along as the chain (extraCerts), and for an ir also as caPubs.
  *chain_out = sk_X509_new_null();
  if (*chain_out != nullptr && X509_up_ref(ca_cert.get()) == 1) sk_X509_push(*chain_out, ca_cert.get());
  if (OSSL_CMP_MSG_get_bodytype(req) == OSSL_CMP_IR) {
    *ca_pubs = sk_X509_new_null();
    if (*ca_pubs != nullptr && X509_up_ref(ca_cert.get()) == 1) sk_X509_push(*ca_pubs, ca_cert.get());
  }
  *cert_out = cert.release();
  return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_accepted, 0, nullptr);
}

// One CMP message in, the DER of the answer out ("" if OpenSSL could not make one).
std::string CmpTestCa::Impl::process(const std::string& der) {
  current = peek(der);
  // OpenSSL's server validates PBM with the context's secret and protects its answers with
  // that secret whenever one is set (it would MAC a kup too). So the secret is in place only
  // while a PBM request with our reference is processed; other requests are answered signed.
  OSSL_CMP_CTX* ctx = OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv.get());
  const bool pbm = current.pbm && !opt.secret.empty() && current.sender_kid == opt.reference;
  OSSL_CMP_CTX_set1_secretValue(ctx, pbm ? reinterpret_cast<const unsigned char*>(opt.secret.data()) : nullptr,
                                pbm ? static_cast<int>(opt.secret.size()) : 0);
  std::string out;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  const MsgPtr req(d2i_OSSL_CMP_MSG(nullptr, &p, static_cast<long>(der.size())));
  if (req) {
    const MsgPtr rsp(OSSL_CMP_SRV_process_request(srv.get(), req.get()));
    ++requests;
    unsigned char* rsp_der = nullptr;
    const int len = rsp ? i2d_OSSL_CMP_MSG(rsp.get(), &rsp_der) : -1;
    if (len > 0) out.assign(reinterpret_cast<const char*>(rsp_der), static_cast<std::size_t>(len));
    OPENSSL_free(rsp_der);
  }
  current = RequestInfo{};
  ERR_clear_error();
  return out;
}

void CmpTestCa::Impl::handle(int fd) {
  std::string error;
  const auto req = read_request(fd, stop_pipe[0], &error);
  if (!req) {
    if (!error.empty()) respond(fd, error, "text/plain", error + "\n");
    return;
  }
  const std::string rsp = process(*req);
  if (rsp.empty())
    respond(fd, "400 Bad Request", "text/plain", "not a CMP message\n");
  else
    respond(fd, "200 OK", "application/pkixcmp", rsp);
}

void CmpTestCa::Impl::serve() {
  while (wait_readable(listen_fd, stop_pipe[0], -1)) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // EAGAIN (the client left) or a transient error
    try {
      handle(fd);
    } catch (const std::exception& e) {
      std::cerr << "CmpTestCa: " << e.what() << "\n";
    }
    ::close(fd);
  }
}

CmpTestCa::CmpTestCa(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
CmpTestCa::~CmpTestCa() = default;

std::string CmpTestCa::url() const {
  const bool v6 = impl_->opt.address.find(':') != std::string::npos;
  const std::string host = v6 ? "[" + impl_->opt.address + "]" : impl_->opt.address;
  return "http://" + host + ":" + std::to_string(impl_->port) + "/pkix/";
}

std::uint16_t CmpTestCa::port() const { return impl_->port; }

std::vector<std::string> CmpTestCa::issued() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->issued;
}

std::size_t CmpTestCa::requests() const { return impl_->requests; }

}  // namespace ndsip::lab
