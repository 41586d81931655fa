// connectors/local/local_store.h: an object store in a local folder, for file:// and for the
// local stand-in of GCS and S3 (KILN_LOCAL_CLOUD=<dir>): bucket B, key K is <root>/B/K. An
// object is written under <root>/.kiln-tmp, synced, and renamed into place, so a reader never
// sees a partial object and a crash leaves none behind under a key.
#pragma once

#include <filesystem>

#include "kiln/connectors/object_store/object_store.h"

namespace kiln::connectors {

class LocalObjectStore : public ObjectStore {
 public:
  //! `root` holds one folder per bucket; it is created when missing. Temporary files older than
  //! 24 h (left by a killed process) are removed. `scheme` is what the store
  //! stands in for ("gs", "s3") or "file". Throws ObjectStoreError when `root` cannot be made.
  LocalObjectStore(std::filesystem::path root, std::string scheme);

  std::string_view scheme() const override { return scheme_; }
  std::vector<ObjectInfo> List(std::string_view bucket, std::string_view prefix) override;
  std::optional<ObjectInfo> Stat(std::string_view bucket, std::string_view key) override;
  ObjectInfo Download(std::string_view bucket, std::string_view key,
                      const std::filesystem::path& dest) override;
  //! Creates the bucket's folder when missing (a local stand-in has no bucket set-up step).
  std::unique_ptr<ObjectWriter> OpenWriter(std::string_view bucket, std::string_view key,
                                           const UploadOptions& options) override;
  void Delete(std::string_view bucket, std::string_view key) override;
  //! Publishes `source` by a hard link (no copy) when it was staged in StagingDir(), else copies
  //! it; synced, then renamed into place. `source` is left as it was.
  ObjectInfo Upload(const std::filesystem::path& source, std::string_view bucket,
                    std::string_view key, const UploadOptions& options) override;
  //! <root>/.kiln-tmp.
  std::filesystem::path StagingDir() const override;

  //! The file of an object (for tests and the stand-in's announcement).
  std::filesystem::path PathOf(std::string_view bucket, std::string_view key) const;

 private:
  std::filesystem::path BucketDir(std::string_view bucket, bool must_exist) const;

  std::filesystem::path root_;
  std::string scheme_;
};

}  // namespace kiln::connectors
