#include "cmp/exchange.hpp"

#include <openssl/cmp.h>
#include <openssl/cmperr.h>
#include <openssl/cmp_util.h>
#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/httperr.h>
#include <openssl/x509v3.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "cmp/new_key.hpp"

namespace ndsip::cmp {

const char* to_string(Kind k) {
  return k == Kind::kur ? "key update (KUR)" : "initial request (IR)";
}

namespace {

// ---- RAII owners of the OpenSSL objects one exchange uses ----------------------------------

struct CtxFree { void operator()(OSSL_CMP_CTX* c) const { OSSL_CMP_CTX_free(c); } };
struct StoreFree { void operator()(X509_STORE* s) const { X509_STORE_free(s); } };
struct CertsFree { void operator()(STACK_OF(X509)* s) const { sk_X509_pop_free(s, X509_free); } };
struct NameFree { void operator()(X509_NAME* n) const { X509_NAME_free(n); } };
struct GeneralNameFree { void operator()(GENERAL_NAME* g) const { GENERAL_NAME_free(g); } };
struct CharFree { void operator()(char* p) const { OPENSSL_free(p); } };
using Ctx = std::unique_ptr<OSSL_CMP_CTX, CtxFree>;
using Store = std::unique_ptr<X509_STORE, StoreFree>;
using Certs = std::unique_ptr<STACK_OF(X509), CertsFree>;
using Name = std::unique_ptr<X509_NAME, NameFree>;
using GeneralName = std::unique_ptr<GENERAL_NAME, GeneralNameFree>;
using OsslString = std::unique_ptr<char, CharFree>;

// ---- what one call collects while OpenSSL runs ----------------------------------------------

struct Call {
  const Request* request = nullptr;
  // certConf: who refused the issued certificate, and why (the text is sent to the CA, and
  // must live until the exchange ends: OpenSSL keeps the pointer).
  bool refused_by_accept = false, refused_by_openssl = false;
  std::string refusal;
  int status_at_confirm = -1;  // the CA's PKIStatus for the certificate, before our verdict
  std::vector<std::string> log;  // OpenSSL's CMP warnings and errors of this call
};

// The CMP log callback has no argument of its own: the call running on this thread. One
// exchange per thread at a time (exchange() blocks), so a thread_local pointer is exact.
thread_local Call* current_call = nullptr;

int collect_log(const char* /*func*/, const char* /*file*/, int /*line*/, OSSL_CMP_severity level,
                const char* msg) {
  // Never to stderr: ndsipd's stderr is its journal, and the library's lines are not written
  // for operators. Warnings and errors are kept for the error sentence.
  if (current_call && msg && level <= OSSL_CMP_LOG_WARNING && current_call->log.size() < 20) {
    current_call->log.emplace_back(msg);
  }
  return 1;
}

int confirm(OSSL_CMP_CTX* ctx, X509* cert, int fail_info, const char** text) {
  auto* call = static_cast<Call*>(OSSL_CMP_CTX_get_certConf_cb_arg(ctx));
  call->status_at_confirm = OSSL_CMP_CTX_get_status(ctx);
  // OpenSSL's own verdict stands: it has set incorrectData when the certificate is not for
  // the key we asked for. (Not OSSL_CMP_certConf_cb: it takes the callback argument for an
  // X509_STORE of trusted certificates, and ours is the Call.)
  if (fail_info != 0) {
    call->refused_by_openssl = true;
    call->refusal = *text ? *text : "CMP client did not accept it";
    return fail_info;
  }
  if (!call->request->accept) return 0;
  std::string reason;
  // C calls this: nothing may unwind through OpenSSL.
  try {
    Certs extra(OSSL_CMP_CTX_get1_extraCertsIn(ctx));
    std::vector<X509*> extra_certs;
    for (int i = 0; extra && i < sk_X509_num(extra.get()); ++i) extra_certs.push_back(sk_X509_value(extra.get(), i));
    reason = call->request->accept(cert, extra_certs);
  } catch (const std::exception& e) {
    reason = std::string("the check of the issued certificate failed: ") + e.what();
  } catch (...) {
    reason = "the check of the issued certificate failed";
  }
  if (reason.empty()) return 0;
  call->refused_by_accept = true;
  call->refusal = std::move(reason);
  *text = call->refusal.c_str();
  // RFC 4210 has no "wrong identity" bit; incorrectData is what OpenSSL itself sends for a
  // certificate it cannot use.
  return 1 << OSSL_CMP_PKIFAILUREINFO_incorrectData;
}

// ---- OpenSSL's error queue -------------------------------------------------------------------

struct QueuedError {
  int lib = 0, reason = 0;
  std::string text;  // the reason string, with the error's data when it has any
};

std::string system_error_text(int code) {
  char buf[256] = {};
  // GNU strerror_r: returns the text (maybe not in buf); thread-safe unlike strerror.
  return ::strerror_r(code, buf, sizeof buf);
}

std::vector<QueuedError> drain_errors() {
  std::vector<QueuedError> out;
  const char* data = nullptr;
  int flags = 0;
  while (const unsigned long e = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    QueuedError q;
    if (ERR_SYSTEM_ERROR(e)) {
      q.lib = ERR_LIB_SYS;
      q.reason = ERR_GET_REASON(e);
      q.text = system_error_text(q.reason);
    } else {
      q.lib = ERR_GET_LIB(e);
      q.reason = ERR_GET_REASON(e);
      const char* r = ERR_reason_error_string(e);
      q.text = r ? r : "error " + std::to_string(q.reason);
    }
    if ((flags & ERR_TXT_STRING) && data && *data) q.text += std::string(" (") + data + ")";
    out.push_back(std::move(q));
  }
  return out;
}

bool has(const std::vector<QueuedError>& errors, int lib, std::initializer_list<int> reasons) {
  for (const auto& e : errors) {
    if (e.lib != lib) continue;
    for (int r : reasons) {
      if (e.reason == r) return true;
    }
  }
  return false;
}

// "a; b; c", each text once, in the order OpenSSL raised them (the root cause first).
std::string joined(const std::vector<QueuedError>& errors, const std::vector<std::string>& log) {
  std::vector<std::string> parts;
  auto add = [&](const std::string& t) {
    for (const auto& p : parts) {
      if (p == t) return;
    }
    parts.push_back(t);
  };
  for (const auto& e : errors) add(e.text);
  if (parts.empty()) {
    for (const auto& l : log) add(l);
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out.empty() ? "no reason given by OpenSSL" : out;
}

// ---- PKIStatus and PKIFailureInfo as text ---------------------------------------------------

std::string status_name(int status) {
  static const std::array<const char*, 7> names{"accepted",           "grantedWithMods",
                                                "rejection",          "waiting",
                                                "revocationWarning",  "revocationNotification",
                                                "keyUpdateWarning"};
  return status >= 0 && status < static_cast<int>(names.size()) ? names[static_cast<std::size_t>(status)] : "";
}

std::vector<std::string> fail_info_names(int code) {
  static const std::array<const char*, OSSL_CMP_PKIFAILUREINFO_MAX + 1> names{
      "badAlg",           "badMessageCheck",   "badRequest",         "badTime",
      "badCertId",        "badDataFormat",     "wrongAuthority",     "incorrectData",
      "missingTimeStamp", "badPOP",            "certRevoked",        "certConfirmed",
      "wrongIntegrity",   "badRecipientNonce", "timeNotAvailable",   "unacceptedPolicy",
      "unacceptedExtension", "addInfoNotAvailable", "badSenderNonce", "badCertTemplate",
      "signerNotTrusted", "transactionIdInUse", "unsupportedVersion", "notAuthorized",
      "systemUnavail",    "systemFailure",     "duplicateCertReq"};
  std::vector<std::string> out;
  if (code <= 0) return out;
  for (int bit = 0; bit <= OSSL_CMP_PKIFAILUREINFO_MAX; ++bit) {
    if (code & (1 << bit)) out.emplace_back(names[static_cast<std::size_t>(bit)]);
  }
  return out;
}

// The CA's free text (PKIFreeText) of its last status.
std::string status_text(const OSSL_CMP_CTX* ctx) {
  std::string out;
  const OSSL_CMP_PKIFREETEXT* texts = OSSL_CMP_CTX_get0_statusString(ctx);
  for (int i = 0; texts && i < sk_ASN1_UTF8STRING_num(texts); ++i) {
    const ASN1_UTF8STRING* s = sk_ASN1_UTF8STRING_value(texts, i);
    if (!s || ASN1_STRING_length(s) <= 0) continue;
    out += (out.empty() ? "" : "; ");
    out.append(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s)));
  }
  return out;
}

// ---- building the request ------------------------------------------------------------------

// A distinguished name as operators write it: RFC 2253 ("CN=node,O=Operator", most specific
// first, as ndsip prints subjects) or OpenSSL's "/O=Operator/CN=node" (in order).
Name parse_name(const std::string& text) {
  std::vector<std::string> parts;
  const bool slashes = !text.empty() && text[0] == '/';
  const char sep = slashes ? '/' : ',';
  std::string cur;
  for (std::size_t i = slashes ? 1 : 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      cur += text[++i];
    } else if (text[i] == sep) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += text[i];
    }
  }
  parts.push_back(cur);
  if (!slashes) std::reverse(parts.begin(), parts.end());
  Name name(X509_NAME_new());
  auto trim = [](std::string s) {
    s.erase(0, s.find_first_not_of(' '));
    s.erase(s.find_last_not_of(' ') + 1);
    return s;
  };
  for (const auto& part : parts) {
    const auto eq = part.find('=');
    if (eq == std::string::npos) return nullptr;
    const std::string type = trim(part.substr(0, eq)), value = trim(part.substr(eq + 1));
    if (type.empty() || value.empty() ||
        X509_NAME_add_entry_by_txt(name.get(), type.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0) != 1) {
      return nullptr;
    }
  }
  return name;
}

// Thrown while the request is put together: the error sentence, and nothing was sent.
struct SetupError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(int rc, const char* what) {
  if (rc != 1) throw SetupError(std::string("cannot set up the CMP client: ") + what);
}

struct Server {
  std::string host, path;
  int port = 0;
};

Server parse_server(const std::string& url) {
  int ssl = 0, port = 0;
  char *user = nullptr, *host = nullptr, *port_text = nullptr, *path = nullptr, *query = nullptr, *frag = nullptr;
  const int ok = OSSL_HTTP_parse_url(url.c_str(), &ssl, &user, &host, &port_text, &port, &path, &query, &frag);
  OsslString u(user), h(host), pt(port_text), p(path), q(query), f(frag);
  if (ok != 1) throw SetupError("the CMP server URL \"" + url + "\" is not an http://host:port/path URL");
  if (ssl) throw SetupError("the CMP server URL \"" + url + "\" uses https, which is not offered (CMP protects itself): use http://");
  Server s{h.get(), p ? p.get() : "/", port};
  if (q && *q) s.path += std::string("?") + q.get();
  return s;
}

void set_server(OSSL_CMP_CTX* ctx, const Server& s) {
  check(OSSL_CMP_CTX_set1_server(ctx, s.host.c_str()), "server");
  check(OSSL_CMP_CTX_set_serverPort(ctx, s.port), "server port");
  check(OSSL_CMP_CTX_set1_serverPath(ctx, s.path.c_str()), "server path");
}

// Whether a TCP connection to the server can be opened: "" if so, else why not. OpenSSL 3.0's
// HTTP client retries a refused connect until the message timeout and then says only
// "connect timeout"; one connect of our own (opened and closed, no request) tells a CA that
// is down at once and with its reason. Skipped behind a proxy (http_proxy): that is OpenSSL's.
std::string reachable(const Server& s, std::chrono::seconds timeout) {
  if (OSSL_HTTP_adapt_proxy(nullptr, nullptr, s.host.c_str(), 0) != nullptr) return "";
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(s.host.c_str(), std::to_string(s.port).c_str(), &hints, &found); rc != 0) {
    return std::string("cannot resolve ") + s.host + ": " + ::gai_strerror(rc);
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);
  const int wait_ms = timeout.count() > 0 ? static_cast<int>(timeout.count() * 1000) : -1;
  std::string why;
  for (const addrinfo* a = found; a; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      why = system_error_text(errno);
      continue;
    }
    int err = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      const int ready = ::poll(&p, 1, wait_ms);
      socklen_t len = sizeof err;
      if (ready == 0) {
        err = ETIMEDOUT;
      } else if (ready < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        err = errno;
      }
    }
    ::close(fd);
    if (err == 0) return "";
    why = err == ETIMEDOUT ? "no connection within " + std::to_string(timeout.count()) + " s" : system_error_text(err);
  }
  return why.empty() ? "no address for " + s.host : why;
}

void set_trusted(OSSL_CMP_CTX* ctx, const std::string& pem) {
  auto certs = certs::parse_certificates(pem);
  if (certs.empty()) throw SetupError("no trusted certificate for the CMP server's responses (trusted_pem holds none)");
  Store store(X509_STORE_new());
  if (!store) throw SetupError("cannot set up the CMP client: out of memory");
  for (auto& c : certs) check(X509_STORE_add_cert(store.get(), c.get()), "trusted certificate");
  check(OSSL_CMP_CTX_set0_trustedStore(ctx, store.get()), "trusted store");
  store.release();  // the context owns it now
}

void set_protection(OSSL_CMP_CTX* ctx, const Request& r) {
  const bool with_cert = !r.auth_cert_pem.empty() || !r.auth_key_pem.empty();
  if (r.kind == Kind::kur && !with_cert) {
    throw SetupError("a key update (KUR) needs the current certificate and key to protect it");
  }
  if (with_cert) {
    auto certs = certs::parse_certificates(r.auth_cert_pem);
    if (certs.empty()) throw SetupError("the certificate that protects the request cannot be read");
    // Only "it cannot be read": the key's text never goes into a message.
    certs::Key key = certs::parse_private_key(r.auth_key_pem);
    if (!key) throw SetupError("the private key that protects the request cannot be read");
    check(OSSL_CMP_CTX_set1_cert(ctx, certs[0].get()), "protecting certificate");
    check(OSSL_CMP_CTX_set1_pkey(ctx, key.get()), "protecting key");
    if (certs.size() > 1) {
      // The rest of the chain: sent as extraCerts so the CA can verify the protection.
      Certs untrusted(sk_X509_new_null());
      if (!untrusted) throw SetupError("cannot set up the CMP client: out of memory");
      for (std::size_t i = 1; i < certs.size(); ++i) {
        check(sk_X509_push(untrusted.get(), certs[i].get()) > 0 ? 1 : 0, "chain");
        certs[i].release();  // the stack owns it now
      }
      check(OSSL_CMP_CTX_set1_untrusted(ctx, untrusted.get()), "untrusted certificates");
    }
    return;
  }
  if (r.reference.empty() || r.secret.empty()) {
    throw SetupError("an initial request (IR) needs a certificate and key, or a reference and secret, to protect it");
  }
  check(OSSL_CMP_CTX_set1_referenceValue(ctx, reinterpret_cast<const unsigned char*>(r.reference.data()),
                                         static_cast<int>(r.reference.size())),
        "reference");
  check(OSSL_CMP_CTX_set1_secretValue(ctx, reinterpret_cast<const unsigned char*>(r.secret.data()),
                                      static_cast<int>(r.secret.size())),
        "secret");
}

void set_template(OSSL_CMP_CTX* ctx, const Request& r) {
  if (!r.new_key) throw SetupError("no new key to certify");
  // set0 takes a reference; the caller keeps its own.
  check(EVP_PKEY_up_ref(r.new_key), "new key");
  if (OSSL_CMP_CTX_set0_newPkey(ctx, 1, r.new_key) != 1) {
    EVP_PKEY_free(r.new_key);
    throw SetupError("cannot set up the CMP client: new key");
  }
  std::string subject = r.subject;
  if (subject.empty() && r.kind == Kind::ir) {
    if (r.identity.empty()) throw SetupError("an initial request (IR) needs the node's identity or a subject");
    subject = "CN=" + r.identity;
  }
  if (!subject.empty()) {
    Name name = parse_name(subject);
    if (!name) throw SetupError("the subject \"" + subject + "\" is not a distinguished name (e.g. CN=node,O=operator)");
    check(OSSL_CMP_CTX_set1_subjectName(ctx, name.get()), "subject");
  }
  if (r.kind == Kind::ir) {
    // A vendor certificate's names are the vendor's, not the operator's identity: never copied.
    check(OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_SUBJECTALTNAME_NODEFAULT, 1), "SAN default");
  }
  if (!r.identity.empty()) {
    GeneralName san(GENERAL_NAME_new());
    ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
    if (!san || !dns || ASN1_STRING_set(dns, r.identity.data(), static_cast<int>(r.identity.size())) != 1) {
      ASN1_IA5STRING_free(dns);
      throw SetupError("cannot set up the CMP client: SAN");
    }
    GENERAL_NAME_set0_value(san.get(), GEN_DNS, dns);
    check(OSSL_CMP_CTX_push1_subjectAltName(ctx, san.get()), "SAN");
  }
}

std::vector<std::string> pem_all(STACK_OF(X509)* certs) {
  std::vector<std::string> out;
  for (int i = 0; certs && i < sk_X509_num(certs); ++i) out.push_back(certificate_pem(sk_X509_value(certs, i)));
  return out;
}

// A server that hangs up while OpenSSL writes must not kill the process: OpenSSL's socket BIO
// writes without MSG_NOSIGNAL, and not every caller ignores SIGPIPE. Blocked on this thread
// for the exchange; one raised meanwhile is taken before the old mask comes back.
class NoSigpipe {
 public:
  NoSigpipe() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~NoSigpipe() {
    if (sigismember(&old_, SIGPIPE) == 1) return;  // blocked before us: not ours to take
    const timespec none{};
    while (sigtimedwait(&pipe_, nullptr, &none) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  NoSigpipe(const NoSigpipe&) = delete;
  NoSigpipe& operator=(const NoSigpipe&) = delete;

 private:
  sigset_t pipe_{}, old_{};
};

// ---- the verdict ---------------------------------------------------------------------------

void explain_failure(Result& out, const Request& r, const OSSL_CMP_CTX* ctx, const Call& call,
                     const std::vector<QueuedError>& errors, std::chrono::steady_clock::duration elapsed) {
  const std::string reasons = joined(errors, call.log);
  const std::string server = "the CMP server " + r.server_url;
  const int status = OSSL_CMP_CTX_get_status(ctx);
  const auto bits = fail_info_names(OSSL_CMP_CTX_get_failInfoCode(ctx));
  const bool total_timeout_passed = r.total_timeout.count() > 0 && elapsed >= r.total_timeout;

  if (call.refused_by_accept || call.refused_by_openssl) {
    out.failed_at = "accept";
    out.error = "certificate refused: " + call.refusal;
    out.pki_status = status_name(call.status_at_confirm);
    out.fail_info.clear();  // the CA's status had none; ours went into the certConf
    return;
  }
  out.pki_status = status_name(status);
  out.fail_info = bits;
  if (has(errors, ERR_LIB_CMP, {CMP_R_TOTAL_TIMEOUT}) ||
      (total_timeout_passed && has(errors, ERR_LIB_CMP, {CMP_R_TRANSFER_ERROR, CMP_R_POLLING_FAILED}))) {
    out.failed_at = "timeout";
    out.error = "no certificate from " + server + " within the total timeout of " +
                std::to_string(r.total_timeout.count()) + " s" +
                (out.pki_status.empty() ? "" : " (its last status: " + out.pki_status + ")") + ": " + reasons;
    return;
  }
  if (has(errors, ERR_LIB_CMP, {CMP_R_WRONG_PBM_VALUE})) {
    out.failed_at = "protection";
    out.error = "response from " + server + " not protected with our shared secret (is the secret right?): " + reasons;
    return;
  }
  if (has(errors, ERR_LIB_CMP,
          {CMP_R_ERROR_VALIDATING_PROTECTION, CMP_R_ERROR_VALIDATING_SIGNATURE, CMP_R_NO_SUITABLE_SENDER_CERT,
           CMP_R_SRVCERT_DOES_NOT_VALIDATE_MSG, CMP_R_MISSING_PROTECTION, CMP_R_MISSING_TRUST_STORE,
           CMP_R_MISSING_TRUST_ANCHOR, CMP_R_UNSUPPORTED_PROTECTION_ALG_DHBASEDMAC,
           CMP_R_MISSING_KEY_USAGE_DIGITALSIGNATURE})) {
    out.failed_at = "protection";
    out.error = "response from " + server + " not protected by a trusted certificate: " + reasons;
    return;
  }
  if (has(errors, ERR_LIB_CMP,
          {CMP_R_RECEIVED_ERROR, CMP_R_REQUEST_REJECTED_BY_SERVER, CMP_R_REQUEST_NOT_ACCEPTED,
           CMP_R_UNEXPECTED_PKISTATUS, CMP_R_ENCOUNTERED_KEYUPDATEWARNING, CMP_R_UNKNOWN_PKISTATUS}) ||
      status == OSSL_CMP_PKISTATUS_rejection) {
    out.failed_at = "status";
    std::string what = out.pki_status.empty() ? "an error" : out.pki_status;
    if (!bits.empty()) {
      what += " (";
      for (std::size_t i = 0; i < bits.size(); ++i) what += (i ? ", " : "") + bits[i];
      what += ")";
    }
    const std::string text = status_text(ctx);
    out.error = "the CA refused the " + std::string(to_string(r.kind)) + ": " + what +
                (text.empty() ? "" : ": " + text) + " [" + reasons + "]";
    return;
  }
  if (has(errors, ERR_LIB_CMP, {CMP_R_TRANSFER_ERROR}) ||
      std::any_of(errors.begin(), errors.end(), [](const QueuedError& e) { return e.lib == ERR_LIB_HTTP; })) {
    out.failed_at = "transfer";
    if (has(errors, ERR_LIB_BIO, {BIO_R_TRANSFER_TIMEOUT, BIO_R_CONNECT_TIMEOUT}) ||
        has(errors, ERR_LIB_HTTP, {HTTP_R_RETRY_TIMEOUT})) {
      out.error = "no answer from " + server + " within " + std::to_string(r.message_timeout.count()) + " s: " + reasons;
    } else if (has(errors, ERR_LIB_HTTP,
                   {HTTP_R_MISSING_ASN1_ENCODING, HTTP_R_ERROR_PARSING_ASN1_LENGTH, HTTP_R_RESPONSE_PARSE_ERROR,
                    HTTP_R_HEADER_PARSE_ERROR, HTTP_R_UNEXPECTED_CONTENT_TYPE, HTTP_R_MISSING_CONTENT_TYPE,
                    HTTP_R_STATUS_CODE_UNSUPPORTED, HTTP_R_RECEIVED_ERROR, HTTP_R_RECEIVED_WRONG_HTTP_VERSION,
                    HTTP_R_RESPONSE_LINE_TOO_LONG, HTTP_R_MAX_RESP_LEN_EXCEEDED, HTTP_R_INCONSISTENT_CONTENT_LENGTH,
                    HTTP_R_ERROR_PARSING_CONTENT_LENGTH, HTTP_R_ASN1_LEN_EXCEEDS_MAX_RESP_LEN}) ||
               std::any_of(errors.begin(), errors.end(), [](const QueuedError& e) { return e.lib == ERR_LIB_ASN1; })) {
      out.error = "no CMP answer from " + server + " (is it a CMP server?): " + reasons;
    } else {
      out.error = "cannot reach " + server + ": " + reasons;
    }
    return;
  }
  out.failed_at = "other";
  out.error = std::string("the ") + to_string(r.kind) + " with " + server + " failed: " + reasons;
}

}  // namespace

Result exchange(const Request& request) {
  Result out;
  // Whatever an earlier caller on this thread left behind is not ours to report.
  ERR_clear_error();
  Call call;
  call.request = &request;
  current_call = &call;
  // Leave the thread as we found it: no pointer to this frame, no errors of ours.
  struct Leave {
    ~Leave() {
      current_call = nullptr;
      ERR_clear_error();
    }
  } leave;

  Ctx ctx(OSSL_CMP_CTX_new(nullptr, nullptr));
  if (!ctx) {
    out.failed_at = "other";
    out.error = "cannot set up the CMP client: out of memory";
    return out;
  }
  OSSL_CMP_CTX_set_log_cb(ctx.get(), collect_log);
  OSSL_CMP_CTX_set_log_verbosity(ctx.get(), OSSL_CMP_LOG_WARNING);
  Server server;
  try {
    server = parse_server(request.server_url);
    set_server(ctx.get(), server);
    check(OSSL_CMP_CTX_set_option(ctx.get(), OSSL_CMP_OPT_MSG_TIMEOUT, static_cast<int>(request.message_timeout.count())),
          "message timeout");
    check(OSSL_CMP_CTX_set_option(ctx.get(), OSSL_CMP_OPT_TOTAL_TIMEOUT, static_cast<int>(request.total_timeout.count())),
          "total timeout");
    set_trusted(ctx.get(), request.trusted_pem);
    set_protection(ctx.get(), request);
    set_template(ctx.get(), request);
    check(OSSL_CMP_CTX_set_certConf_cb(ctx.get(), confirm), "certConf callback");
    check(OSSL_CMP_CTX_set_certConf_cb_arg(ctx.get(), &call), "certConf callback");
  } catch (const SetupError& e) {
    out.failed_at = "other";
    out.error = e.what();
    return out;
  }

  const NoSigpipe no_sigpipe;
  const auto start = std::chrono::steady_clock::now();
  const auto first_wait = request.total_timeout.count() > 0 ? std::min(request.message_timeout, request.total_timeout)
                                                            : request.message_timeout;
  if (const std::string why = reachable(server, first_wait); !why.empty()) {
    out.failed_at = "transfer";
    out.error = "cannot reach the CMP server " + request.server_url + ": " + why;
    return out;
  }
  X509* cert = request.kind == Kind::kur ? OSSL_CMP_exec_KUR_ses(ctx.get()) : OSSL_CMP_exec_IR_ses(ctx.get());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const auto errors = drain_errors();

  Certs extra(OSSL_CMP_CTX_get1_extraCertsIn(ctx.get()));
  Certs ca_pubs(OSSL_CMP_CTX_get1_caPubs(ctx.get()));
  out.chain_pem = pem_all(extra.get());
  for (auto& pem : pem_all(ca_pubs.get())) out.chain_pem.push_back(std::move(pem));

  if (cert) {
    out.ok = true;
    out.cert_pem = certificate_pem(cert);
    out.pki_status = status_name(OSSL_CMP_CTX_get_status(ctx.get()));
    return out;
  }
  explain_failure(out, request, ctx.get(), call, errors, elapsed);
  return out;
}

}  // namespace ndsip::cmp
