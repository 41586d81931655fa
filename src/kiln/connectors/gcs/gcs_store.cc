#include "kiln/connectors/gcs/gcs_store.h"

#include <stdlib.h>
#include <unistd.h>

#include <system_error>

#include "kiln/connectors/gcs/resumable_upload.h"

namespace kiln::connectors {
namespace {

namespace fs = std::filesystem;
using gcs_internal::CallSite;
using gcs_internal::GcsApi;
using gcs_internal::ResumableUpload;
using Kind = ObjectStoreError::Kind;

CallSite Site(std::string op, std::string_view bucket, std::string_view key) {
  return CallSite{std::move(op), std::string(bucket), std::string(key)};
}

nlohmann::json ParseObject(const HttpResponse& response) {
  nlohmann::json object = nlohmann::json::parse(response.body, nullptr, false);
  return object.is_discarded() ? nlohmann::json::object() : object;
}

//! POST .../o?uploadType=media&name=<key>: the whole object in one request (atomic; retried).
ObjectInfo MediaUpload(GcsApi& api, const CallSite& site, const UploadOptions& options,
                       std::variant<std::string, FileRange> body) {
  HttpRequest request(
      "POST", api.UploadUrl(site.bucket) + "?uploadType=media&name=" + PercentEncode(site.key));
  request.headers.Add("Content-Type", options.content_type);
  std::visit([&](auto&& b) { request.body = std::move(b); }, std::move(body));
  request.cancelled = options.cancelled;
  HttpResponse response = api.Send(std::move(request), site);
  if (!response.ok()) throw api.Error(response, site);
  ObjectInfo info = gcs_internal::ObjectInfoFromJson(ParseObject(response));
  if (info.key.empty()) info.key = site.key;
  return info;
}

//! A temporary file next to the download's destination, removed unless released.
class TempFile {
 public:
  explicit TempFile(const fs::path& dest) {
    std::string pattern =
        (dest.parent_path() / ("." + dest.filename().string() + ".kiln-tmp-XXXXXX")).string();
    int fd = ::mkstemp(pattern.data());
    if (fd < 0) {
      throw std::system_error(errno, std::generic_category(),
                              "cannot create a file in " + dest.parent_path().string());
    }
    ::close(fd);
    path_ = pattern;
  }
  ~TempFile() {
    if (!path_.empty()) {
      std::error_code ec;
      fs::remove(path_, ec);
    }
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const fs::path& path() const { return path_; }
  void MoveTo(const fs::path& dest) {
    fs::rename(path_, dest);
    path_.clear();
  }

 private:
  fs::path path_;
};

//! ObjectWriter over a media upload or a resumable session (see OpenWriter).
class GcsWriter : public ObjectWriter {
 public:
  GcsWriter(GcsApi& api, CallSite site, UploadOptions options)
      : api_(api),
        site_(std::move(site)),
        options_(std::move(options)),
        chunk_(gcs_internal::ChunkSize(options_.part_size)) {}

  void Write(std::string_view bytes) override {
    if (dead_) throw ObjectStoreError(Kind::kOther, site_.Failed("the writer failed earlier"));
    try {
      buffer_.append(bytes);
      if (!session_ && buffer_.size() > options_.single_request_limit) {
        session_ = std::make_unique<ResumableUpload>(api_, site_, options_.content_type,
                                                     std::nullopt, options_.cancelled);
      }
      if (session_) SendFullChunks();
    } catch (...) {
      dead_ = true;
      throw;
    }
  }

  ObjectInfo Commit() override {
    if (dead_) throw ObjectStoreError(Kind::kOther, site_.Failed("the writer failed earlier"));
    dead_ = true;  // whatever happens, the writer is finished
    if (!session_) return MediaUpload(api_, site_, options_, std::move(buffer_));
    const uint64_t total = start_ + buffer_.size();
    nlohmann::json object =
        session_->SendAll(start_, total, chunk_, [this](uint64_t offset, uint64_t length) {
          if (offset < start_) {
            throw ObjectStoreError(Kind::kOther,
                                   site_.Failed("GCS lost bytes it had acknowledged"));
          }
          return std::variant<std::string, FileRange>(buffer_.substr(offset - start_, length));
        });
    ObjectInfo info = gcs_internal::ObjectInfoFromJson(object);
    if (info.key.empty()) info.key = site_.key;
    return info;
  }

 private:
  //! Sends chunks while more than one chunk is buffered (the last chunk waits for Commit).
  void SendFullChunks() {
    int stalls = 0;
    while (buffer_.size() > chunk_) {
      ResumableUpload::Progress progress =
          session_->PutChunk(start_, buffer_.substr(0, chunk_), chunk_, std::nullopt);
      if (progress.persisted < start_) {
        throw ObjectStoreError(Kind::kOther, site_.Failed("GCS lost bytes it had acknowledged"));
      }
      const uint64_t kept = std::min<uint64_t>(progress.persisted - start_, buffer_.size());
      if (kept == 0 && ++stalls >= api_.http().retry.max_attempts) {
        throw ObjectStoreError(Kind::kTransport, site_.Failed("GCS kept no bytes after byte " +
                                                              std::to_string(start_)));
      }
      buffer_.erase(0, kept);
      start_ += kept;
    }
  }

  GcsApi& api_;
  CallSite site_;
  UploadOptions options_;
  uint64_t chunk_;
  std::string buffer_;  //!< bytes from offset start_ not yet acknowledged
  uint64_t start_ = 0;
  std::unique_ptr<ResumableUpload> session_;  //!< deleted (aborted) unless finalized
  bool dead_ = false;
};

}  // namespace

std::string GcsEmulatorBaseUrl(std::string_view host) {
  std::string url(host);
  if (url.find("://") == std::string::npos) url = "http://" + url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

GcsObjectStore::GcsObjectStore(std::string base_url, std::optional<GoogleCredentials> credentials,
                               std::shared_ptr<GoogleTokenCache> tokens, HttpOptions http)
    : api_(std::move(base_url), std::move(credentials), std::move(tokens), std::move(http)) {}

std::vector<ObjectInfo> GcsObjectStore::List(std::string_view bucket, std::string_view prefix) {
  CallSite site = Site("list", bucket, prefix);
  std::vector<ObjectInfo> objects;
  std::string page_token;
  do {
    std::string url =
        api_.BucketUrl(bucket) + "/o?prefix=" + PercentEncode(prefix) +
        "&maxResults=1000&fields=" + PercentEncode("items(name,size,generation),nextPageToken");
    if (!page_token.empty()) url += "&pageToken=" + PercentEncode(page_token);
    HttpResponse response = api_.Send(HttpRequest("GET", url), site);
    if (!response.ok()) throw api_.Error(response, site);
    nlohmann::json page = ParseObject(response);
    if (auto items = page.find("items"); items != page.end() && items->is_array()) {
      for (const nlohmann::json& item : *items) {
        objects.push_back(gcs_internal::ObjectInfoFromJson(item));
      }
    }
    page_token.clear();
    if (auto next = page.find("nextPageToken"); next != page.end() && next->is_string()) {
      page_token = *next;
    }
  } while (!page_token.empty());
  std::sort(objects.begin(), objects.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return objects;
}

std::optional<ObjectInfo> GcsObjectStore::Stat(std::string_view bucket, std::string_view key) {
  CallSite site = Site("stat", bucket, key);
  HttpResponse response = api_.Send(
      HttpRequest("GET", api_.ObjectUrl(bucket, key) + "?fields=name,size,generation"), site);
  if (response.status == 404 && response.transport_error.empty()) {
    if (!api_.BucketExists(site)) throw api_.Error(response, site);
    return std::nullopt;
  }
  if (!response.ok()) throw api_.Error(response, site);
  ObjectInfo info = gcs_internal::ObjectInfoFromJson(ParseObject(response));
  if (info.key.empty()) info.key = std::string(key);
  return info;
}

ObjectInfo GcsObjectStore::Download(std::string_view bucket, std::string_view key,
                                    const std::filesystem::path& dest) {
  CallSite site = Site("download", bucket, key);
  std::optional<TempFile> temp;
  try {
    temp.emplace(dest);
  } catch (const std::system_error& e) {
    throw ObjectStoreError(Kind::kOther, site.Failed(e.what()));
  }
  HttpRequest get("GET", api_.ObjectUrl(bucket, key) + "?alt=media");
  get.response_file = temp->path();
  HttpResponse response = api_.Send(std::move(get), site);
  if (response.status == 404 && response.transport_error.empty()) {
    const bool bucket_exists = api_.BucketExists(site);
    throw api_.Error(response, site, /*object_404=*/bucket_exists);
  }
  if (!response.ok()) throw api_.Error(response, site);
  ObjectInfo info{std::string(key), response.body_bytes,
                  response.headers.Get("x-goog-generation").value_or("")};
  try {
    temp->MoveTo(dest);
  } catch (const fs::filesystem_error& e) {
    throw ObjectStoreError(Kind::kOther, site.Failed(e.what()));
  }
  return info;
}

std::unique_ptr<ObjectWriter> GcsObjectStore::OpenWriter(std::string_view bucket,
                                                         std::string_view key,
                                                         const UploadOptions& options) {
  return std::make_unique<GcsWriter>(api_, Site("upload", bucket, key), options);
}

ObjectInfo GcsObjectStore::Upload(const std::filesystem::path& source, std::string_view bucket,
                                  std::string_view key, const UploadOptions& options) {
  CallSite site = Site("upload", bucket, key);
  std::error_code ec;
  const uint64_t size = fs::file_size(source, ec);
  if (ec) {
    throw ObjectStoreError(Kind::kOther,
                           site.Failed("cannot read " + source.string() + ": " + ec.message()));
  }
  try {
    if (size <= options.single_request_limit) {
      return MediaUpload(api_, site, options, FileRange{source, 0, size});
    }
    ResumableUpload session(api_, site, options.content_type, size, options.cancelled);
    nlohmann::json object = session.SendAll(
        0, size, gcs_internal::ChunkSize(options.part_size), [&](uint64_t offset, uint64_t length) {
          return std::variant<std::string, FileRange>(FileRange{source, offset, length});
        });
    ObjectInfo info = gcs_internal::ObjectInfoFromJson(object);
    if (info.key.empty()) info.key = std::string(key);
    return info;
  } catch (const std::system_error& e) {  // the file changed under us
    throw ObjectStoreError(Kind::kOther, site.Failed(e.what()));
  }
}

void GcsObjectStore::Delete(std::string_view bucket, std::string_view key) {
  CallSite site = Site("delete", bucket, key);
  HttpResponse response = api_.Send(HttpRequest("DELETE", api_.ObjectUrl(bucket, key)), site);
  if (response.status == 404 && response.transport_error.empty()) return;
  if (!response.ok()) throw api_.Error(response, site);
}

}  // namespace kiln::connectors
