// connectors/s3/s3_xml.h: the XML documents of the S3 REST API that Kiln reads and writes
// (ListObjectsV2, Initiate/CompleteMultipartUpload, Error), with pugixml. Element names are
// matched without their namespace, so AWS, MinIO, R2 and s3rver answers all parse.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/connectors/object_store/object_store.h"

namespace kiln::connectors {

//! One page of a ListObjectsV2 answer.
struct S3ListPage {
  std::vector<ObjectInfo> objects;  //!< Contents: Key, Size, ETag (quotes kept) as version
  bool truncated = false;           //!< IsTruncated
  std::string next_token;           //!< NextContinuationToken ("" when none)
};

//! An <Error> document.
struct S3ErrorBody {
  std::string code;     //!< "NoSuchBucket", "SignatureDoesNotMatch", ...
  std::string message;  //!< Message
  std::string region;   //!< Region (a PermanentRedirect names the bucket's region), or ""
};

//! Parses a ListBucketResult. Throws ObjectStoreError (kOther) starting with `what` when
//! `xml` is not one (the answer's first 200 bytes quoted).
S3ListPage ParseListObjectsV2(std::string_view xml, const std::string& what);

//! The UploadId of an InitiateMultipartUploadResult. Throws ObjectStoreError (kOther) as above
//! when there is none.
std::string ParseInitiateMultipartUpload(std::string_view xml, const std::string& what);

//! The <Error> of `xml`, or nullopt when `xml` is not an Error document (empty, another root,
//! not XML). S3 may answer CompleteMultipartUpload with 200 and an Error body: check it.
std::optional<S3ErrorBody> ParseS3Error(std::string_view xml);

//! The ETag of a CompleteMultipartUploadResult ("" when it has none).
std::string ParseCompleteMultipartUpload(std::string_view xml);

//! One uploaded part.
struct S3Part {
  int number = 0;    //!< 1..10000
  std::string etag;  //!< as the server sent it (with its quotes)
};

//! <CompleteMultipartUpload><Part><PartNumber>N</PartNumber><ETag>..</ETag></Part>...
//! </CompleteMultipartUpload> for `parts` in the order given (ascending numbers), escaped.
std::string CompleteMultipartUploadXml(const std::vector<S3Part>& parts);

}  // namespace kiln::connectors
