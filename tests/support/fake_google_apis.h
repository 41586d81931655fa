// tests/support/fake_google_apis.h: a loopback stand-in for Google's OAuth 2.0 token endpoint and
// the Cloud Storage JSON API, written from Google's documentation ("Using OAuth 2.0 for Server to
// Server Applications", "JSON API: Objects", "Perform resumable uploads", "Uploading objects"),
// not from Kiln's client. It refuses what the documentation does not allow (a missing or unknown
// bearer token, an object name not percent-encoded, a Content-Range that is malformed or does not
// start where the session stands, a non-final chunk that is not a multiple of 256 KiB), keeps
// objects in memory, logs every request, and injects faults on demand. Contract tests only: a
// live run against real GCS is what proves the documentation was read right.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace kiln::testing {

class FakeGoogleApis {
 public:
  //! Which documented operation a request was.
  enum class Op {
    kToken,           //!< POST /token
    kBucketGet,       //!< GET /storage/v1/b/{bucket}
    kObjectGet,       //!< GET /storage/v1/b/{bucket}/o/{object} (metadata)
    kDownload,        //!< ... ?alt=media
    kList,            //!< GET /storage/v1/b/{bucket}/o
    kMediaUpload,     //!< POST /upload/storage/v1/b/{bucket}/o?uploadType=media
    kResumableStart,  //!< POST ...?uploadType=resumable
    kChunk,           //!< PUT <session> with bytes
    kStatusQuery,     //!< PUT <session> with Content-Range bytes */...
    kSessionDelete,   //!< DELETE <session>
    kObjectDelete,    //!< DELETE /storage/v1/b/{bucket}/o/{object}
    kUnknown,
  };

  struct Options {
    //! Whether GCS requests need "Authorization: Bearer <a token this fake issued>" (false: an
    //! emulator, where the fake instead refuses any Authorization header).
    bool require_auth = true;
    //! The service account's public key (PEM "BEGIN PUBLIC KEY"): JWT assertions must verify with
    //! it and name `client_email` as issuer.
    std::string public_key_pem;
    std::string client_email;
    //! The refresh-token grant accepted (authorized_user credentials); empty: refused.
    std::string refresh_token;
    //! expires_in of issued tokens, seconds.
    int expires_in = 3600;
    //! Most items per list page (the API's own maximum is 1000).
    int max_page = 1000;
  };

  //! A request as received, for assertions.
  struct Logged {
    Op op = Op::kUnknown;
    std::string method;
    std::string target;  //!< path and query as sent (percent-encoded)
    std::string authorization;
    std::string content_range;
    std::string content_type;
    std::map<std::string, std::string> params;  //!< decoded query parameters
    size_t body_size = 0;
    int status = 0;  //!< what the fake answered (0: connection dropped)
  };

  //! A fault: the `skip`+1-th request of `op` onward, `times` times, answers `status` (with
  //! Google's JSON error), or `drop`s the connection, or (kChunk only) keeps `keep_bytes` of the
  //! chunk before doing so / before answering 308 with a short Range.
  struct Fault {
    Op op = Op::kUnknown;
    int status = 0;     //!< 401, 403, 404, 429, 503, ...; 0 with drop or keep_bytes
    bool drop = false;  //!< close the connection before a complete answer
    std::optional<uint64_t> keep_bytes;  //!< kChunk: bytes of the chunk stored
    int skip = 0;                        //!< matching requests let through first
    int times = 1;                       //!< how many requests the fault hits
    std::string message = "injected fault";

    //! `times` requests of `op` answer `status` with Google's JSON error carrying `message`.
    static Fault Status(Op op, int status, int times = 1, std::string message = "injected fault");
    //! The (`skip`+1)-th request of `op` loses its connection (a kChunk keeps `keep` bytes).
    static Fault Drop(Op op, std::optional<uint64_t> keep = std::nullopt, int skip = 0);
    //! The next chunk keeps only `keep` bytes and answers 308 with the shorter Range.
    static Fault ShortRange(uint64_t keep);
  };

  //! Listens on 127.0.0.1 (a free port) until destroyed.
  explicit FakeGoogleApis(Options options);
  ~FakeGoogleApis();
  FakeGoogleApis(const FakeGoogleApis&) = delete;
  FakeGoogleApis& operator=(const FakeGoogleApis&) = delete;

  std::string base_url() const;   //!< "http://127.0.0.1:<port>"
  std::string token_uri() const;  //!< base_url() + "/token"
  std::string host_port() const;  //!< "127.0.0.1:<port>" (an STORAGE_EMULATOR_HOST value)

  void CreateBucket(const std::string& bucket);
  void PutObject(const std::string& bucket, const std::string& name, const std::string& bytes);
  //! The bytes of an object, or nullopt.
  std::optional<std::string> Object(const std::string& bucket, const std::string& name) const;
  //! Every object name of `bucket`, sorted.
  std::vector<std::string> ObjectNames(const std::string& bucket) const;
  //! Resumable sessions neither finalized nor deleted.
  int open_sessions() const;

  void Inject(Fault fault);
  //! Every token issued so far stops working (as after expiry or revocation): 401.
  void RevokeTokens();
  int tokens_issued() const;

  std::vector<Logged> Requests() const;
  std::vector<Logged> Requests(Op op) const;
  //! Requests the fake refused as contrary to the documentation, with why (should stay empty).
  std::vector<std::string> violations() const;

 private:
  struct Session {
    std::string bucket, name, content_type;
    std::optional<uint64_t> declared_size;
    std::string data;
    bool done = false;
  };
  struct Bucket {
    std::map<std::string, std::pair<std::string, int64_t>> objects;  //!< name -> bytes, generation
  };

  void Handle(const httplib::Request& req, httplib::Response& res);
  Op Classify(const httplib::Request& req, std::string& bucket, std::string& object,
              std::string& why) const;
  void Token(const httplib::Request& req, httplib::Response& res);
  void Storage(Op op, const std::string& bucket, const std::string& object,
               const httplib::Request& req, httplib::Response& res);
  void Upload(Op op, const std::string& bucket, const httplib::Request& req,
              httplib::Response& res);
  void SessionPut(const httplib::Request& req, httplib::Response& res, std::optional<uint64_t> keep,
                  bool drop);
  std::string ObjectJson(const std::string& bucket, const std::string& name) const;
  int64_t Store(const std::string& bucket, const std::string& name, std::string bytes);
  //! Answers 400 and records why.
  void Violation(httplib::Response& res, const std::string& why);
  std::optional<Fault> TakeFault(Op op);

  Options options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
  std::map<std::string, Session> sessions_;  //!< upload_id ->
  std::vector<std::string> tokens_;
  std::vector<Fault> faults_;
  std::map<Op, int> seen_;  //!< requests per op, for Fault::skip
  std::vector<Logged> log_;
  std::vector<std::string> violations_;
  int64_t next_generation_ = 1700000000000001;
  int next_session_ = 1;
};

}  // namespace kiln::testing
