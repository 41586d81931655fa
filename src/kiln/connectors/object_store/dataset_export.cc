#include "kiln/connectors/object_store/dataset_export.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <set>
#include <thread>

#include "kiln/common/names.h"

namespace kiln::connectors {
namespace fs = std::filesystem;
namespace {

using Kind = ObjectStoreError::Kind;

std::string Uri(const ObjectStore& store, const std::string& bucket, const std::string& key) {
  return std::string(store.scheme()) + "://" + bucket + "/" + key;
}

std::string ContentType(const std::string& format) {
  if (format == "parquet") return "application/vnd.apache.parquet";
  if (format == "csv") return "text/csv";
  if (format == "json") return "application/x-ndjson";
  return "application/octet-stream";
}

std::string CopyStatement(const std::string& relation_sql, const fs::path& target,
                          const DatasetOptions& o) {
  std::string options;
  if (o.format == "parquet") {
    options = "FORMAT parquet";
  } else if (o.format == "csv") {
    options = "FORMAT csv, HEADER true";
  } else if (o.format == "json") {
    options = "FORMAT json";
  } else {
    throw ObjectStoreError(
        Kind::kOther, "cannot write format '" + o.format + "' (Kiln writes parquet, csv and json)");
  }
  if (!o.partition_cols.empty()) {
    std::string cols;
    for (const std::string& c : o.partition_cols)
      cols += (cols.empty() ? "" : ", ") + QuoteIdentifier(c);
    options += ", PARTITION_BY (" + cols + "), FILENAME_PATTERN " + QuoteLiteral(o.basename);
  }
  if (o.format == "parquet" && !o.pandas_metadata.is_null()) {
    options += ", KV_METADATA {pandas: " + QuoteLiteral(o.pandas_metadata.dump()) + "}";
  }
  if (!o.copy_options.empty()) options += ", " + o.copy_options;
  return "COPY (SELECT * FROM " + relation_sql + ") TO " + QuoteLiteral(target.string()) + " (" +
         options + ")";
}

//! Object key of a staged file: `prefix`/<relative path>, with DuckDB's NULL partition folders
//! renamed to `null_name` when one is asked for.
std::string KeyOf(const std::string& prefix, const fs::path& relative, const DatasetOptions& o) {
  std::string key;
  for (const fs::path& part : relative) {
    std::string name = part.string();
    if (!o.null_partition_name.empty()) {
      for (const std::string& c : o.partition_cols) {
        if (name == c + "=NULL") name = c + "=" + o.null_partition_name;
      }
    }
    key += (key.empty() ? "" : "/") + name;
  }
  if (prefix.empty()) return key;
  return prefix.back() == '/' ? prefix + key : prefix + "/" + key;
}

struct StagedFile {
  fs::path file;
  std::string key;
};

//! Uploads `files`, `parallel` at a time. On the first failure the others stop, the objects
//! this call created are deleted (never one that replaced an object of the same key: deleting
//! it would lose the old version too), and the failure is rethrown.
std::vector<ObjectInfo> UploadAll(ObjectStore& store, const std::string& bucket,
                                  const std::vector<StagedFile>& files,
                                  const std::set<std::string>& existed, const DatasetOptions& o) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::exception_ptr first_error;
  std::vector<ObjectInfo> done;
  UploadOptions upload;
  upload.content_type = ContentType(o.format);
  upload.cancelled = [&failed, &o] { return failed.load() || (o.cancelled && o.cancelled()); };
  auto work = [&] {
    for (size_t i = next++; i < files.size() && !failed; i = next++) {
      try {
        if (o.cancelled && o.cancelled()) {
          throw ObjectStoreError(Kind::kCancelled, "upload " + Uri(store, bucket, files[i].key) +
                                                       " failed: cancelled");
        }
        ObjectInfo info = store.Upload(files[i].file, bucket, files[i].key, upload);
        std::lock_guard lock(mu);
        done.push_back(std::move(info));
      } catch (...) {
        std::lock_guard lock(mu);
        if (!first_error) first_error = std::current_exception();
        failed = true;
      }
    }
  };
  const size_t threads =
      std::min<size_t>(files.size(), static_cast<size_t>(std::max(1, o.parallel_uploads)));
  if (threads <= 1) {
    work();
  } else {
    std::vector<std::jthread> pool;
    for (size_t t = 0; t < threads; ++t) pool.emplace_back(work);
  }
  if (first_error) {
    for (const ObjectInfo& info : done) {
      if (existed.count(info.key)) continue;
      try {
        store.Delete(bucket, info.key);
      } catch (const std::exception&) {
        // Best effort: the object stays, complete; the error below is what the user needs.
      }
    }
    std::rethrow_exception(first_error);
  }
  std::sort(done.begin(), done.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return done;
}

//! After a successful write: removes the objects `o.existing` says must go.
void RemoveSuperseded(ObjectStore& store, const std::string& bucket, const std::string& prefix,
                      const std::vector<ObjectInfo>& written, const DatasetOptions& o) {
  using Existing = DatasetOptions::Existing;
  if (o.existing != Existing::kDeleteMatching && o.existing != Existing::kReplaceAll) return;
  std::set<std::string> keep;
  std::set<std::string> folders;
  for (const ObjectInfo& info : written) {
    keep.insert(info.key);
    folders.insert(info.key.substr(0, info.key.rfind('/') + 1));
  }
  const std::string root = prefix.empty() || prefix.back() == '/' ? prefix : prefix + "/";
  for (const ObjectInfo& info : store.List(bucket, root)) {
    if (keep.count(info.key)) continue;
    const std::string folder = info.key.substr(0, info.key.rfind('/') + 1);
    if (o.existing == Existing::kReplaceAll || folders.count(folder))
      store.Delete(bucket, info.key);
  }
}

void CheckNothingExists(ObjectStore& store, const std::string& bucket, const std::string& root) {
  std::vector<ObjectInfo> existing;
  try {
    existing = store.List(bucket, root);
  } catch (const ObjectStoreError& e) {
    if (e.kind() != Kind::kNoSuchBucket) throw;
  }
  if (!existing.empty()) {
    throw ObjectStoreError(Kind::kOther, "write " + Uri(store, bucket, root) +
                                             " failed: objects exist there already (" +
                                             existing.front().key + ", ...)");
  }
}

}  // namespace

StagingFolder::StagingFolder(const ObjectStore& store, const fs::path& parent) {
  fs::path dir = parent;
  if (dir.empty()) dir = store.StagingDir();
  if (dir.empty()) dir = fs::temp_directory_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::string pattern = (dir / "dataset-XXXXXX").string();
  if (ec || ::mkdtemp(pattern.data()) == nullptr) {
    throw ObjectStoreError(Kind::kOther, "cannot create a staging folder in " + dir.string() +
                                             (ec ? ": " + ec.message() : ""));
  }
  path_ = pattern;
}

StagingFolder::~StagingFolder() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::vector<ObjectInfo> PublishStaged(ObjectStore& store, const std::string& bucket,
                                      const std::string& prefix, const fs::path& staged,
                                      const DatasetOptions& options) {
  if (!fs::exists(staged)) {  // a partitioned COPY of no rows writes nothing
    // ... and replaces the old dataset by nothing, as DuckDB's OVERWRITE empties the folder.
    if (options.existing == DatasetOptions::Existing::kReplaceAll) {
      try {
        RemoveSuperseded(store, bucket, prefix, {}, options);
      } catch (const ObjectStoreError& e) {
        if (e.kind() != Kind::kNoSuchBucket) throw;
      }
    }
    return {};
  }
  const bool folder = fs::is_directory(staged);
  if (!folder && prefix.empty()) {
    throw ObjectStoreError(Kind::kOther, "write " + std::string(store.scheme()) + "://" + bucket +
                                             " failed: no object key given");
  }
  const std::string root =
      !folder || prefix.empty() || prefix.back() == '/' ? prefix : prefix + "/";
  if (options.existing == DatasetOptions::Existing::kError) CheckNothingExists(store, bucket, root);
  std::vector<StagedFile> files;
  if (folder) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(staged, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      files.push_back({it->path(), KeyOf(prefix, fs::relative(it->path(), staged), options)});
    }
    if (ec) {
      throw ObjectStoreError(Kind::kOther, "cannot list " + staged.string() + ": " + ec.message());
    }
  } else {
    files.push_back({staged, prefix});
  }
  std::sort(files.begin(), files.end(),
            [](const StagedFile& a, const StagedFile& b) { return a.key < b.key; });
  std::set<std::string> existed;  // keys a failed export must not delete
  if (options.existing != DatasetOptions::Existing::kError) {
    try {
      for (const ObjectInfo& info : store.List(bucket, root)) existed.insert(info.key);
    } catch (const ObjectStoreError& e) {
      if (e.kind() != Kind::kNoSuchBucket) throw;
    }
  }
  std::vector<ObjectInfo> objects = UploadAll(store, bucket, files, existed, options);
  RemoveSuperseded(store, bucket, prefix, objects, options);
  return objects;
}

DatasetResult ExportDataset(data::Connection& duck, const std::string& relation_sql,
                            ObjectStore& store, const std::string& bucket,
                            const std::string& prefix, const DatasetOptions& options) {
  const bool partitioned = !options.partition_cols.empty();
  if (!partitioned && prefix.empty()) {
    throw ObjectStoreError(Kind::kOther, "write " + std::string(store.scheme()) + "://" + bucket +
                                             " failed: no object key given");
  }
  if (options.existing == DatasetOptions::Existing::kError) {
    CheckNothingExists(
        store, bucket,
        !partitioned || prefix.empty() || prefix.back() == '/' ? prefix : prefix + "/");
  }
  StagingFolder staging(store, options.staging_dir);
  const fs::path target = staging.path() / (partitioned ? "dataset" : "object");
  DatasetResult result;
  {
    data::Result copied = duck.Query(CopyStatement(relation_sql, target, options));
    result.rows = static_cast<uint64_t>(copied.GetInt64(0, 0));
  }
  DatasetOptions publish = options;
  publish.existing = options.existing == DatasetOptions::Existing::kError
                         ? DatasetOptions::Existing::kOverwriteOrIgnore  // checked above
                         : options.existing;
  result.objects = PublishStaged(store, bucket, prefix, target, publish);
  return result;
}

}  // namespace kiln::connectors
