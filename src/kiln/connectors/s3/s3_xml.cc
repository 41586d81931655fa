#include "kiln/connectors/s3/s3_xml.h"

#include <pugixml.hpp>

namespace kiln::connectors {
namespace {

//! The local part of an element name ("s3:Key" -> "Key").
std::string_view LocalName(const pugi::xml_node& node) {
  std::string_view name = node.name();
  const size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

//! The first child element whose local name is `name` (null node when none).
pugi::xml_node Child(const pugi::xml_node& parent, std::string_view name) {
  for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && LocalName(c) == name) return c;
  }
  return {};
}

std::string Text(const pugi::xml_node& parent, std::string_view name) {
  return Child(parent, name).text().as_string();
}

//! The document element of `xml` when it parses and its local name is `root`.
pugi::xml_node Root(pugi::xml_document& doc, std::string_view xml, std::string_view root) {
  if (!doc.load_buffer(xml.data(), xml.size())) return {};
  pugi::xml_node element = doc.document_element();
  return element && LocalName(element) == root ? element : pugi::xml_node{};
}

ObjectStoreError NotA(const std::string& what, std::string_view root, std::string_view xml) {
  std::string start(xml.substr(0, 200));
  for (char& c : start) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return ObjectStoreError(
      ObjectStoreError::Kind::kOther,
      what + ": the answer is not an S3 " + std::string(root) + " document: '" + start + "'");
}

std::string Escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

S3ListPage ParseListObjectsV2(std::string_view xml, const std::string& what) {
  pugi::xml_document doc;
  const pugi::xml_node root = Root(doc, xml, "ListBucketResult");
  if (!root) throw NotA(what, "ListBucketResult", xml);
  S3ListPage page;
  for (pugi::xml_node c = root.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element || LocalName(c) != "Contents") continue;
    ObjectInfo info;
    info.key = Text(c, "Key");
    info.size = Child(c, "Size").text().as_ullong();
    info.version = Text(c, "ETag");
    page.objects.push_back(std::move(info));
  }
  page.truncated = Text(root, "IsTruncated") == "true";
  page.next_token = Text(root, "NextContinuationToken");
  return page;
}

std::string ParseInitiateMultipartUpload(std::string_view xml, const std::string& what) {
  pugi::xml_document doc;
  const pugi::xml_node root = Root(doc, xml, "InitiateMultipartUploadResult");
  const std::string id = root ? Text(root, "UploadId") : "";
  if (id.empty()) throw NotA(what, "InitiateMultipartUploadResult", xml);
  return id;
}

std::optional<S3ErrorBody> ParseS3Error(std::string_view xml) {
  pugi::xml_document doc;
  const pugi::xml_node root = Root(doc, xml, "Error");
  if (!root) return std::nullopt;
  return S3ErrorBody{Text(root, "Code"), Text(root, "Message"), Text(root, "Region")};
}

std::string ParseCompleteMultipartUpload(std::string_view xml) {
  pugi::xml_document doc;
  const pugi::xml_node root = Root(doc, xml, "CompleteMultipartUploadResult");
  return root ? Text(root, "ETag") : "";
}

std::string CompleteMultipartUploadXml(const std::vector<S3Part>& parts) {
  std::string out = "<CompleteMultipartUpload>";
  for (const S3Part& p : parts) {
    out += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>" +
           Escape(p.etag) + "</ETag></Part>";
  }
  return out + "</CompleteMultipartUpload>";
}

}  // namespace kiln::connectors
