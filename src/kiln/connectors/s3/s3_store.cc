#include "kiln/connectors/s3/s3_store.h"

#include <atomic>
#include <fstream>
#include <system_error>

#include "kiln/connectors/s3/multipart_upload.h"
#include "kiln/connectors/s3/s3_xml.h"

namespace kiln::connectors {
namespace {

namespace fs = std::filesystem;
using Kind = ObjectStoreError::Kind;

std::atomic<uint64_t> download_counter{0};

//! Buffers small objects for one PutObject; past the limit, sends parts of a multipart upload.
class S3Writer : public ObjectWriter {
 public:
  S3Writer(S3ObjectStore& store, const S3Client& client, std::string bucket, std::string key,
           UploadOptions options)
      : store_(store),
        client_(client),
        bucket_(std::move(bucket)),
        key_(std::move(key)),
        options_(std::move(options)),
        part_size_(S3PartSize(0, options_.part_size)) {}

  void Write(std::string_view bytes) override {
    if (dead_) throw Dead();
    try {
      buffer_.append(bytes);
      if (!upload_ && buffer_.size() <= options_.single_request_limit) return;
      if (!upload_) {
        upload_ = std::make_unique<MultipartUpload>(client_, bucket_, key_, options_.content_type,
                                                    options_.cancelled);
      }
      while (buffer_.size() >= part_size_) {
        std::string part = buffer_.substr(0, part_size_);
        buffer_.erase(0, part_size_);
        upload_->AddPart(std::move(part));
      }
    } catch (...) {
      dead_ = true;
      throw;
    }
  }

  ObjectInfo Commit() override {
    if (dead_) throw Dead();
    dead_ = true;
    if (!upload_) return store_.Put(bucket_, key_, std::move(buffer_), options_);
    if (!buffer_.empty()) upload_->AddPart(std::move(buffer_));
    return upload_->Complete();
  }

 private:
  ObjectStoreError Dead() const {
    return ObjectStoreError(Kind::kOther, "upload " + S3Uri(bucket_, key_) +
                                              " failed: the writer already failed or committed");
  }

  S3ObjectStore& store_;
  const S3Client& client_;
  std::string bucket_, key_;
  UploadOptions options_;
  uint64_t part_size_;
  std::string buffer_;
  std::unique_ptr<MultipartUpload> upload_;  //!< aborts in its destructor unless completed
  bool dead_ = false;
};

//! Reads `length` bytes at `offset` of `path`. Throws ObjectStoreError naming the file.
std::string ReadRange(const fs::path& path, uint64_t offset, uint64_t length) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes(length, '\0');
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(bytes.data(), static_cast<std::streamsize>(length));
  if (!in || static_cast<uint64_t>(in.gcount()) != length) {
    throw ObjectStoreError(Kind::kOther, "upload " + path.string() + " failed: cannot read " +
                                             std::to_string(length) + " bytes at offset " +
                                             std::to_string(offset));
  }
  return bytes;
}

}  // namespace

S3ObjectStore::S3ObjectStore(S3Settings settings, HttpOptions http, S3StoreOptions options)
    : client_(std::move(settings), std::move(http)), options_(options) {}

std::vector<ObjectInfo> S3ObjectStore::List(std::string_view bucket_view, std::string_view prefix) {
  const std::string bucket(bucket_view);
  std::vector<ObjectInfo> all;
  std::string token;
  do {
    S3Call call = MakeS3Call("GET", bucket, "",
                             {{"list-type", "2"}, {"max-keys", std::to_string(options_.max_keys)}});
    if (!prefix.empty()) call.query.emplace_back("prefix", std::string(prefix));
    if (!token.empty()) call.query.emplace_back("continuation-token", token);
    const HttpResponse r = client_.Send(call);
    if (!r.ok()) throw client_.Failure("list", bucket, std::string(prefix), r);
    S3ListPage page = ParseListObjectsV2(r.body, "list " + S3Uri(bucket, std::string(prefix)));
    for (ObjectInfo& info : page.objects) all.push_back(std::move(info));
    if (page.truncated && page.next_token.empty()) {
      throw ObjectStoreError(Kind::kOther, "list " + S3Uri(bucket, std::string(prefix)) +
                                               " failed: a truncated page without "
                                               "NextContinuationToken");
    }
    token = page.truncated ? page.next_token : "";
  } while (!token.empty());
  return all;
}

std::optional<ObjectInfo> S3ObjectStore::Stat(std::string_view bucket_view,
                                              std::string_view key_view) {
  const std::string bucket(bucket_view), key(key_view);
  const HttpResponse r = client_.Send(MakeS3Call("HEAD", bucket, key));
  if (r.ok()) {
    ObjectInfo info{key, 0, r.headers.Get("etag").value_or("")};
    const std::string length = r.headers.Get("content-length").value_or("0");
    info.size = std::strtoull(length.c_str(), nullptr, 10);
    return info;
  }
  if (r.transport_error.empty() && r.status == 404) {
    const HttpResponse b = client_.Send(MakeS3Call("HEAD", bucket));
    if (b.ok()) return std::nullopt;
    if (b.transport_error.empty() && b.status == 404) {
      throw ObjectStoreError(Kind::kNoSuchBucket, "stat " + S3Uri(bucket, key) +
                                                      " failed: bucket '" + bucket +
                                                      "' does not exist (S3 404)");
    }
    throw client_.Failure("stat", bucket, "", b);
  }
  throw client_.Failure("stat", bucket, key, r);
}

ObjectInfo S3ObjectStore::Download(std::string_view bucket_view, std::string_view key_view,
                                   const fs::path& dest) {
  const std::string bucket(bucket_view), key(key_view);
  const fs::path temp = dest.string() + ".kiln-part-" + std::to_string(::getpid()) + "-" +
                        std::to_string(download_counter++);
  S3Call call = MakeS3Call("GET", bucket, key);
  call.response_file = temp;
  HttpResponse r;
  try {
    r = client_.Send(call);
  } catch (const std::system_error& e) {
    std::error_code ec;
    fs::remove(temp, ec);
    throw ObjectStoreError(Kind::kOther, "download " + S3Uri(bucket, key) +
                                             " failed: " + temp.string() + ": " + e.what());
  }
  std::error_code ec;
  if (!r.ok()) {
    fs::remove(temp, ec);
    throw client_.Failure("download", bucket, key, r);
  }
  fs::rename(temp, dest, ec);
  if (ec) {
    fs::remove(temp, ec);
    throw ObjectStoreError(Kind::kOther, "download " + S3Uri(bucket, key) + " failed: cannot " +
                                             "rename into " + dest.string() + ": " + ec.message());
  }
  return ObjectInfo{key, r.body_bytes, r.headers.Get("etag").value_or("")};
}

std::unique_ptr<ObjectWriter> S3ObjectStore::OpenWriter(std::string_view bucket,
                                                        std::string_view key,
                                                        const UploadOptions& options) {
  return std::make_unique<S3Writer>(*this, client_, std::string(bucket), std::string(key), options);
}

ObjectInfo S3ObjectStore::Put(const std::string& bucket, const std::string& key, std::string bytes,
                              const UploadOptions& options) {
  const uint64_t size = bytes.size();
  S3Call call = MakeS3Call("PUT", bucket, key);
  call.body = std::move(bytes);
  call.content_type = options.content_type;
  call.cancelled = options.cancelled;
  const HttpResponse r = client_.Send(call);
  if (!r.ok()) throw client_.Failure("upload", bucket, key, r);
  return ObjectInfo{key, size, r.headers.Get("etag").value_or("")};
}

ObjectInfo S3ObjectStore::Upload(const fs::path& source, std::string_view bucket_view,
                                 std::string_view key_view, const UploadOptions& options) {
  const std::string bucket(bucket_view), key(key_view);
  std::error_code ec;
  const uint64_t size = fs::file_size(source, ec);
  if (ec) {
    throw ObjectStoreError(Kind::kOther, "upload " + source.string() + " to " + S3Uri(bucket, key) +
                                             " failed: " + ec.message());
  }
  if (size <= options.single_request_limit) {
    return Put(bucket, key, ReadRange(source, 0, size), options);
  }
  const uint64_t part_size = S3PartSize(size, options.part_size);
  MultipartUpload upload(client_, bucket, key, options.content_type, options.cancelled);
  for (uint64_t offset = 0; offset < size; offset += part_size) {
    upload.AddPart(ReadRange(source, offset, std::min(part_size, size - offset)));
  }
  return upload.Complete();
}

void S3ObjectStore::Delete(std::string_view bucket_view, std::string_view key_view) {
  const std::string bucket(bucket_view), key(key_view);
  const HttpResponse r = client_.Send(MakeS3Call("DELETE", bucket, key));
  if (r.ok()) return;
  const std::optional<S3ErrorBody> error = ParseS3Error(r.body);
  if (r.transport_error.empty() && error && error->code == "NoSuchKey") return;
  throw client_.Failure("delete", bucket, key, r);
}

}  // namespace kiln::connectors
