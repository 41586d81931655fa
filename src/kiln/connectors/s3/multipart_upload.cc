#include "kiln/connectors/s3/multipart_upload.h"

#include <algorithm>

namespace kiln::connectors {

using Kind = ObjectStoreError::Kind;

uint64_t S3PartSize(uint64_t size, uint64_t wanted) {
  const uint64_t fit = (size + MultipartUpload::kMaxParts - 1) / MultipartUpload::kMaxParts;
  return std::max({wanted, MultipartUpload::kMinPartSize, fit});
}

MultipartUpload::MultipartUpload(const S3Client& client, std::string bucket, std::string key,
                                 std::string content_type, std::function<bool()> cancelled)
    : client_(client),
      bucket_(std::move(bucket)),
      key_(std::move(key)),
      cancelled_(std::move(cancelled)) {
  S3Call call = MakeS3Call("POST", bucket_, key_, {{"uploads", ""}});
  call.content_type = std::move(content_type);
  call.cancelled = cancelled_;
  const HttpResponse r = client_.Send(call);
  if (!r.ok()) throw client_.Failure("upload", bucket_, key_, r);
  upload_id_ = ParseInitiateMultipartUpload(r.body, "upload " + S3Uri(bucket_, key_));
}

MultipartUpload::~MultipartUpload() {
  for (auto& part : in_flight_) {
    if (part.valid()) part.wait();
  }
  if (completed_) return;
  try {
    S3Call call = MakeS3Call("DELETE", bucket_, key_, {{"uploadId", upload_id_}});
    const HttpResponse r = client_.Send(call);
    if (!r.ok()) {
      client_.Warn("warning: abort of the multipart upload " + upload_id_ + " failed, its parts " +
                   "stay until a bucket lifecycle rule removes them: " +
                   client_.Failure("abort upload", bucket_, key_, r).what());
    }
  } catch (const std::exception& e) {
    try {
      client_.Warn("warning: abort of the multipart upload " + upload_id_ + " of " +
                   S3Uri(bucket_, key_) + " failed: " + e.what());
    } catch (...) {  // a destructor never throws
    }
  }
}

void MultipartUpload::ThrowIfCancelled() const {
  if (cancelled_ && cancelled_()) {
    throw ObjectStoreError(Kind::kCancelled,
                           "upload " + S3Uri(bucket_, key_) + " failed: cancelled");
  }
}

void MultipartUpload::WaitOldest() {
  std::future<S3Part> oldest = std::move(in_flight_.front());
  in_flight_.pop_front();
  done_.push_back(oldest.get());
}

void MultipartUpload::AddPart(std::string bytes) {
  ThrowIfCancelled();
  while (in_flight_.size() >= kPartsInFlight) WaitOldest();
  if (next_number_ > kMaxParts) {
    throw ObjectStoreError(Kind::kOther,
                           "upload " + S3Uri(bucket_, key_) + " failed: more than 10,000 parts");
  }
  const int number = next_number_++;
  size_ += bytes.size();
  in_flight_.push_back(std::async(std::launch::async, [this, number,
                                                       body = std::move(bytes)]() mutable {
    S3Call call = MakeS3Call("PUT", bucket_, key_,
                             {{"partNumber", std::to_string(number)}, {"uploadId", upload_id_}});
    call.body = std::move(body);
    call.cancelled = cancelled_;
    const HttpResponse r = client_.Send(call);
    if (!r.ok())
      throw client_.Failure("upload (part " + std::to_string(number) + ")", bucket_, key_, r);
    std::string etag = r.headers.Get("etag").value_or("");
    if (etag.empty()) {
      throw ObjectStoreError(Kind::kOther, "upload " + S3Uri(bucket_, key_) + " failed: part " +
                                               std::to_string(number) +
                                               " was answered without an ETag");
    }
    return S3Part{number, etag};
  }));
}

ObjectInfo MultipartUpload::Complete() {
  while (!in_flight_.empty()) WaitOldest();
  ThrowIfCancelled();
  std::sort(done_.begin(), done_.end(),
            [](const S3Part& a, const S3Part& b) { return a.number < b.number; });
  S3Call call = MakeS3Call("POST", bucket_, key_, {{"uploadId", upload_id_}});
  call.body = CompleteMultipartUploadXml(done_);
  call.content_type = "application/xml";
  call.cancelled = cancelled_;
  const HttpResponse r = client_.Send(call);
  if (!r.ok() || ParseS3Error(r.body)) throw client_.Failure("upload", bucket_, key_, r);
  completed_ = true;
  return ObjectInfo{key_, size_, ParseCompleteMultipartUpload(r.body)};
}

}  // namespace kiln::connectors
