// connectors/s3/endpoint.h: where an S3 request goes (docs/design/cloud.md §5 "S3"): path style
// `<endpoint>/<bucket>/<key>` when AWS_ENDPOINT is set or the bucket name has a dot, else
// virtual-hosted `https://<bucket>.s3.<region>.amazonaws.com/<key>`.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kiln/connectors/s3/settings.h"

namespace kiln::connectors {

//! One request's address, as sent and as signed.
struct S3Address {
  std::string url;            //!< scheme://host[:port]/path?query, percent-encoded
  std::string host;           //!< the Host header (and the signed host)
  std::string canonical_uri;  //!< the encoded path, as SigV4 signs it ("/" at least)
  std::vector<std::pair<std::string, std::string>> query;  //!< unencoded, as given
};

//! The address of `key` in `bucket` ("" key: the bucket itself) with `query` (unencoded names
//! and values; an empty value is sent as a bare name, e.g. "?uploads"). `settings.endpoint`
//! without a scheme gets https://; a trailing '/' is dropped; a path in it prefixes every
//! request. Key segments are RFC 3986-encoded once, '/' kept. Throws ObjectStoreError (kOther)
//! naming AWS_ENDPOINT when it is not http(s) or has no host.
S3Address AddressOf(const S3Settings& settings, std::string_view bucket, std::string_view key,
                    std::vector<std::pair<std::string, std::string>> query = {});

}  // namespace kiln::connectors
