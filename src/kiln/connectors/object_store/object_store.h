// connectors/object_store/object_store.h: buckets of objects (GCS, S3, local folders) behind one
// interface (docs/design/cloud.md §4). Keys are '/'-separated and never start with '/'. Every
// write is all-or-nothing: an object appears under its key only when its writer commits, so a
// reader never sees a partial upload. Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/connectors/error.h"

namespace kiln::connectors {

//! What went wrong with an object store call. what() = "<op> <uri> failed: <reason>" and never
//! holds a secret.
class ObjectStoreError : public ConnectorError {
 public:
  enum class Kind {
    kNoSuchBucket,
    kNoSuchObject,
    kAccessDenied,
    kAuthentication,
    kTransport,
    kCancelled,
    kOther
  };
  ObjectStoreError(Kind kind, const std::string& message) : ConnectorError(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

//! One object.
struct ObjectInfo {
  std::string key;
  uint64_t size = 0;    //!< bytes
  std::string version;  //!< generation / ETag / mtime in ns: changes when the object is replaced
};

//! How an object is uploaded.
struct UploadOptions {
  std::string content_type = "application/octet-stream";
  uint64_t single_request_limit = 8 << 20;  //!< bytes; above it: resumable / multipart uploads
  uint64_t part_size = 16 << 20;            //!< bytes per part (GCS: multiple of 256 KiB)
  std::function<bool()> cancelled;          //!< polled during and between requests; may be empty
};

//! An object being written; nothing is visible under its key before Commit() returns.
class ObjectWriter {
 public:
  //! Without Commit(): aborts (the partial upload is discarded). Never throws.
  virtual ~ObjectWriter() = default;
  //! Appends bytes. Throws ObjectStoreError; the writer is then dead.
  virtual void Write(std::string_view bytes) = 0;
  //! Finishes the object and makes it visible, replacing a previous version at once. After a
  //! throw the key holds its previous version or nothing.
  virtual ObjectInfo Commit() = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  //! "gs", "s3" or "file".
  virtual std::string_view scheme() const = 0;
  //! Every object of `bucket` whose key starts with `prefix`, in key order. Throws
  //! ObjectStoreError (kNoSuchBucket when the bucket does not exist).
  virtual std::vector<ObjectInfo> List(std::string_view bucket, std::string_view prefix) = 0;
  //! The object, or nullopt when the key does not exist; a missing bucket throws kNoSuchBucket.
  virtual std::optional<ObjectInfo> Stat(std::string_view bucket, std::string_view key) = 0;
  //! Copies the object to `dest` (written next to it under a temporary name, renamed when
  //! complete). Throws kNoSuchObject / kNoSuchBucket.
  virtual ObjectInfo Download(std::string_view bucket, std::string_view key,
                              const std::filesystem::path& dest) = 0;
  //! Starts writing `key` of `bucket`.
  virtual std::unique_ptr<ObjectWriter> OpenWriter(std::string_view bucket, std::string_view key,
                                                   const UploadOptions& options) = 0;
  //! Uploads file `source` as `key`; all-or-nothing as Commit().
  virtual ObjectInfo Upload(const std::filesystem::path& source, std::string_view bucket,
                            std::string_view key, const UploadOptions& options);
  //! Removes the object; a missing one is not an error.
  virtual void Delete(std::string_view bucket, std::string_view key) = 0;
  //! A folder on the same file system as the objects, where files to upload are best staged
  //! (a local store publishes them by rename); empty when the store has none.
  virtual std::filesystem::path StagingDir() const { return {}; }
};

//! A parsed object URI: gs://bucket/key, s3://bucket/key, file:///path (bucket "", key = path).
struct ObjectUri {
  std::string scheme;  //!< "gs", "s3", "file"
  std::string bucket;
  std::string key;
  std::string ToString() const;
};

//! Parses `uri`. Throws ObjectStoreError (kOther) naming it when the scheme is not gs, s3 or file,
//! the bucket is missing, or the key is empty for gs/s3.
ObjectUri ParseObjectUri(std::string_view uri);

}  // namespace kiln::connectors
