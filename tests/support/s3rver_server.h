// tests/support/s3rver_server.h: a real, independent S3 server for integration tests: s3rver
// 3.7.1 (npm, installed by scripts/setup.sh into ~/.cache/kiln/s3rver-3.7.1), run by
// tests/support/s3rver/serve.js on 127.0.0.1 at a port the system picks, with its objects in a
// fresh temp dir. serve.js adds what s3rver 3.7.1 lacks: SigV4 header signatures are checked
// (recomputed with AWS's @smithy/signature-v4), so a wrong secret gets 403 SignatureDoesNotMatch.
//
//   if (auto why = S3rverServer::Unavailable()) GTEST_SKIP() << *why;
//   S3rverServer s3;   // bucket "kiln-test" exists
//   ... S3Settings{s3.access_key_id(), s3.secret_access_key(), "", "us-east-1", s3.endpoint()} ...
//
// Not thread-safe: use one object from one thread (the server itself serves many connections).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace kiln::testing {

class S3rverServer {
 public:
  //! Why the server cannot run here ("node is not on PATH ..."), or nullopt when it can. Only a
  //! missing `node` makes tests skip; a missing s3rver install is a failure of the constructor.
  static std::optional<std::string> Unavailable();

  //! Starts the server with `buckets` created, and waits (up to 30 s) until it listens. Throws
  //! std::runtime_error with the server's stderr when it cannot start (s3rver not installed:
  //! "run scripts/setup.sh"). The s3rver folder is $KILN_S3RVER_DIR, else
  //! ${KILN_CACHE_DIR:-~/.cache/kiln}/s3rver-3.7.1.
  explicit S3rverServer(const std::vector<std::string>& buckets = {"kiln-test"});
  //! Stops the server (SIGTERM, SIGKILL after 5 s) and removes its folder. Never throws. If this
  //! process dies first, the server sees EOF on its stdin, removes its folder and exits.
  ~S3rverServer();
  S3rverServer(const S3rverServer&) = delete;
  S3rverServer& operator=(const S3rverServer&) = delete;

  int port() const { return port_; }
  //! "http://127.0.0.1:<port>": the AWS_ENDPOINT for path-style requests.
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  //! s3rver's one account: access key id and secret are both "S3RVER".
  std::string access_key_id() const { return "S3RVER"; }
  std::string secret_access_key() const { return "S3RVER"; }
  //! Where s3rver keeps buckets and objects (for diagnosing a failed test).
  const std::filesystem::path& data_dir() const { return data_dir_; }
  //! What the server printed so far: one line per answered request ("...<path>?<query> <status>
  //! <ms>", the first 16 characters of the URL cut off by s3rver's logger) and its errors.
  std::string Log() const { return Slurp(log_file_); }

 private:
  void Stop() noexcept;

  TempDir temp_;
  std::filesystem::path data_dir_, log_file_;
  pid_t pid_ = 0;
  int port_ = 0;
  int stdin_fd_ = -1;  //!< write end of the server's stdin; closing it stops the server
};

}  // namespace kiln::testing
