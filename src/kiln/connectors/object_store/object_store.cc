#include "kiln/connectors/object_store/object_store.h"

#include <fstream>
#include <vector>

namespace kiln::connectors {

ObjectInfo ObjectStore::Upload(const std::filesystem::path& source, std::string_view bucket,
                               std::string_view key, const UploadOptions& options) {
  std::ifstream in(source, std::ios::binary);
  if (!in) {
    throw ObjectStoreError(ObjectStoreError::Kind::kOther,
                           "upload " + source.string() + " failed: cannot read the file");
  }
  std::unique_ptr<ObjectWriter> writer = OpenWriter(bucket, key, options);
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0) writer->Write(std::string_view(buffer.data(), in.gcount()));
    if (options.cancelled && options.cancelled()) {
      throw ObjectStoreError(ObjectStoreError::Kind::kCancelled,
                             "upload " + source.string() + " failed: cancelled");
    }
  }
  if (in.bad()) {
    throw ObjectStoreError(ObjectStoreError::Kind::kOther,
                           "upload " + source.string() + " failed: read error");
  }
  return writer->Commit();
}

std::string ObjectUri::ToString() const {
  return scheme == "file" ? "file://" + key : scheme + "://" + bucket + "/" + key;
}

ObjectUri ParseObjectUri(std::string_view uri) {
  auto fail = [&](const std::string& why) {
    return ObjectStoreError(ObjectStoreError::Kind::kOther,
                            "object URI '" + std::string(uri) + "': " + why);
  };
  const size_t sep = uri.find("://");
  if (sep == std::string_view::npos) throw fail("expected gs://, s3:// or file://");
  ObjectUri out;
  out.scheme = std::string(uri.substr(0, sep));
  std::string_view rest = uri.substr(sep + 3);
  if (out.scheme == "file") {
    if (rest.empty()) throw fail("no path");
    out.key = std::string(rest);
    return out;
  }
  if (out.scheme != "gs" && out.scheme != "s3") throw fail("expected gs://, s3:// or file://");
  const size_t slash = rest.find('/');
  out.bucket = std::string(rest.substr(0, slash));
  if (out.bucket.empty()) throw fail("no bucket");
  if (slash == std::string_view::npos || slash + 1 >= rest.size()) throw fail("no object key");
  out.key = std::string(rest.substr(slash + 1));
  return out;
}

}  // namespace kiln::connectors
