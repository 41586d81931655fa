#include "kiln/blocks/python/cloud_calls.h"

#include <charconv>
#include <filesystem>
#include <set>

#include "kiln/blocks/python/call_args.h"
#include "kiln/common/names.h"
#include "kiln/common/text.h"
#include "kiln/config/io_config.h"
#include "kiln/connectors/cloud/open.h"
#include "kiln/connectors/local/local_store.h"
#include "kiln/connectors/object_store/dataset_export.h"
#include "kiln/python/frame.h"

namespace kiln::blocks {
namespace fs = std::filesystem;
namespace cn = connectors;
using nlohmann::json;

namespace {

//! The credentials the Python side sent ({"key"}, {"key_file"}, {"adc"} for Google; boto3's
//! keyword names for S3) as the connector's auth.
cn::ObjectStoreAuth AuthFor(const std::string& scheme, const json& auth) {
  const std::string origin = ArgText(auth, "origin", "the block's credentials");
  if (scheme == "gs") {
    cn::GoogleAuth g;
    g.origin = origin;
    if (auth.contains("key") && !auth["key"].is_null()) {
      const json& key = auth["key"];
      if (key.is_string()) {
        try {
          g.source = json::parse(key.get<std::string>());
        } catch (const json::parse_error&) {
          throw config::ConfigError(origin + ": the service account key is not JSON");
        }
      } else {
        g.source = key;
      }
    } else if (auth.contains("key_file") && !auth["key_file"].is_null()) {
      g.source = fs::path(ArgText(auth, "key_file"));
    } else if (auth.contains("adc") && auth["adc"].is_string()) {
      g.adc_path = auth["adc"].get<std::string>();
    }
    return g;
  }
  if (scheme == "s3") {
    cn::S3Settings s;
    s.access_key_id = ArgText(auth, "aws_access_key_id");
    s.secret_access_key = ArgText(auth, "aws_secret_access_key");
    s.session_token = ArgText(auth, "aws_session_token");
    s.region = ArgText(auth, "region_name");
    s.endpoint = ArgText(auth, "endpoint_url");
    s.origin = origin;
    return s;
  }
  return std::monostate{};
}

std::string Format(const json& args) {
  std::string format = ArgText(args, "format", "parquet");
  if (format == "parquet" || format == "csv" || format == "json") return format;
  throw Error("format '" + format + "' is not supported by Kiln (csv, json, parquet)");
}

std::string Reader(const std::string& format, const std::string& files) {
  if (format == "parquet") return "read_parquet(" + files + ")";
  if (format == "json") return "read_json_auto(" + files + ")";
  return "read_csv_auto(" + files + ")";
}

//! pandas' metadata as pyarrow writes it (pandas_compat.construct_metadata): how to rebuild the
//! index and each column's dtype. `skip` are columns not in the file (partition columns).
json PandasMetadata(const python::FrameInfo& info, const std::set<std::string>& skip,
                    const std::string& pandas_version) {
  std::set<std::string> index_columns;
  json index_names = json::object();
  json index_list = json::array();
  if (info.index.is_object()) {
    const json& cols = info.index.value("columns", json::array());
    const json& names = info.index.value("names", json::array());
    for (size_t i = 0; i < cols.size(); ++i) {
      index_columns.insert(cols[i].get<std::string>());
      index_names[cols[i].get<std::string>()] = i < names.size() ? names[i] : json();
      index_list.push_back(cols[i]);
    }
  } else {
    index_list.push_back(
        {{"kind", "range"}, {"name", nullptr}, {"start", 0}, {"stop", info.rows}, {"step", 1}});
  }
  json columns = json::array();
  for (const auto& c : info.columns) {
    if (skip.contains(c.name)) continue;
    json entry = {{"name", index_columns.contains(c.name) ? index_names[c.name] : json(c.name)},
                  {"field_name", c.name},
                  {"numpy_type", c.pandas_dtype},
                  {"metadata", nullptr}};
    std::string type = c.kind;
    if (c.kind == "string") type = c.pandas_dtype == "category" ? "categorical" : "unicode";
    if (c.kind == "json") type = "object";
    if (c.kind == "timestamp") {
      type = c.tz.empty() ? "datetime" : "datetimetz";
      entry["numpy_type"] = "datetime64[ns]";
      if (!c.tz.empty()) entry["metadata"] = {{"timezone", c.tz}};
    }
    if (c.kind == "date") type = "date";
    if (c.kind == "int64" && c.pandas_dtype == "Int64") entry["numpy_type"] = "Int64";
    entry["pandas_type"] = type;
    columns.push_back(std::move(entry));
  }
  return {{"index_columns", index_list},
          {"column_indexes", json::array({{{"name", nullptr},
                                           {"field_name", nullptr},
                                           {"pandas_type", "unicode"},
                                           {"numpy_type", "object"},
                                           {"metadata", {{"encoding", "UTF-8"}}}}})},
          {"columns", columns},
          {"creator", {{"library", "kiln"}, {"version", "0.0.0+kiln"}}},
          {"pandas_version", pandas_version}};
}

//! The dtypes (field name -> pandas dtype) and index ({"columns", "names"} or null) that
//! `metadata` (pandas' Parquet metadata) describes, for WriteFrame.
std::pair<json, json> FromPandasMetadata(const json& metadata) {
  json dtypes = json::object();
  json index = nullptr;
  if (!metadata.is_object()) return {dtypes, index};
  json names = json::object();
  for (const auto& c : metadata.value("columns", json::array())) {
    if (!c.is_object() || !c.contains("field_name") || !c["field_name"].is_string()) continue;
    const std::string field = c["field_name"].get<std::string>();
    names[field] = c.value("name", json());
    const std::string type = c.value("pandas_type", "");
    std::string dtype = c.value("numpy_type", "");
    if (type == "categorical") dtype = "category";
    if (type == "datetimetz" && c.value("metadata", json()).is_object())
      dtype = "datetime64[ns, " + c["metadata"].value("timezone", "UTC") + "]";
    if (!dtype.empty()) dtypes[field] = dtype;
  }
  for (const auto& i : metadata.value("index_columns", json::array())) {
    if (!i.is_string()) continue;  // a RangeIndex: the default one is what the frame gets
    if (index.is_null()) index = {{"columns", json::array()}, {"names", json::array()}};
    index["columns"].push_back(i);
    index["names"].push_back(names.value(i.get<std::string>(), json()));
  }
  return {dtypes, index};
}

//! The frame's relation with timestamps cut to milliseconds, as Mage's to_parquet
//! (coerce_timestamps='ms', allow_truncated_timestamps=True).
std::string ParquetRelation(const std::string& relation, const python::FrameInfo& info) {
  std::string replaced;
  for (const auto& c : info.columns) {
    if (c.kind != "timestamp" || !c.tz.empty()) continue;
    replaced += (replaced.empty() ? "" : ", ") + std::string("CAST(") + QuoteIdentifier(c.name) +
                " AS TIMESTAMP_MS) AS " + QuoteIdentifier(c.name);
  }
  return replaced.empty() ? relation
                          : "(SELECT * REPLACE (" + replaced + ") FROM " + relation + ")";
}

//! The local name of a downloaded object: its key's last name when it ends in the format's
//! extension (".csv.gz" keeps DuckDB's compression detection), else "object.<format>".
std::string SingleObjectName(const std::string& key, const std::string& format) {
  const std::string name = fs::path(key).filename().string();
  if (name.ends_with("." + format) || name.find("." + format + ".") != std::string::npos)
    return name;
  return "object." + format;
}

//! "bucket/some/prefix" (or a gs:// / s3:// URI) split at the first '/'; trailing '/' dropped.
std::pair<std::string, std::string> SplitRoot(std::string root) {
  if (auto p = root.find("://"); p != std::string::npos) root = root.substr(p + 3);
  while (!root.empty() && root.back() == '/') root.pop_back();
  const size_t slash = root.find('/');
  if (slash == std::string::npos) return {root, ""};
  return {root.substr(0, slash), root.substr(slash + 1)};
}

}  // namespace

CloudCalls::CloudCalls(BlockInvocation& invocation, data::Connection& duck,
                       std::vector<std::string>& destinations)
    : inv_(invocation), duck_(duck), destinations_(destinations) {}

std::string CloudCalls::Describe(const std::string& scheme, const std::string& bucket,
                                 const std::string& key) const {
  std::string uri = scheme + "://" + bucket + "/" + key;
  if (scheme != "file" && inv_.services.cloud && inv_.services.cloud->mode.local()) {
    uri +=
        " (local cloud: " + (*inv_.services.cloud->mode.local_root / bucket / key).string() + ")";
  }
  return uri;
}

namespace {

//! The store of `scheme` for this block: gs/s3 through OpenObjectStore; "file" is a folder
//! store rooted at `file_root` (its buckets are that folder's sub-folders).
std::unique_ptr<cn::ObjectStore> OpenStore(BlockInvocation& inv, const std::string& scheme,
                                           const json& args, const fs::path& file_root = {}) {
  if (scheme == "file") return std::make_unique<cn::LocalObjectStore>(file_root, "file");
  if (!inv.services.cloud)
    throw Error(
        "this process was started without cloud services; gs:// and s3:// are served "
        "by `kiln run` and `kiln start`");
  return cn::OpenObjectStore(scheme, AuthFor(scheme, args.value("auth", json::object())),
                             *inv.services.cloud);
}

}  // namespace

json CloudCalls::Dispatch(const std::string& method, const json& args,
                          std::vector<python::UniqueFd>& fds, std::vector<python::UniqueFd>& out) {
  if (method == "objects.load" || method == "objects.read_table") return Load(args, out);
  if (method == "objects.export" || method == "objects.write_file") return Export(args, fds);
  if (method == "objects.exists") return Exists(args);
  if (method == "objects.write_dataset") return WriteDataset(args, fds);
  if (method == "objects.missing_credentials") return MissingCredentials(args);
  if (method == "objects.real_pyarrow") {
    if (inv_.services.cloud && inv_.services.cloud->mode.local()) {
      inv_.log.Warning("this block uses pyarrow " + ArgText(args, "version") + " (" +
                       ArgText(args, "file") +
                       "), not Kiln's stand-in: its file systems reach the real cloud services, "
                       "not the --local-cloud folders");
    }
    return json::object();
  }
  throw Error("unknown call '" + method + "'");
}

json CloudCalls::MissingCredentials(const json& args) {
  const std::string message = ArgText(args, "message") +
                              " (io_config.yaml: set GOOGLE_SERVICE_ACC_KEY or "
                              "GOOGLE_SERVICE_ACC_KEY_FILEPATH, or run with --local-cloud DIR / "
                              "KILN_LOCAL_CLOUD=DIR)";
  if (!inv_.services.cloud || !inv_.services.cloud->mode.local()) throw Error(message);
  inv_.log.Warning("without --local-cloud this block would fail: ValueError: " + message);
  return json::object();
}

json CloudCalls::Load(const json& args, std::vector<python::UniqueFd>& out) {
  const std::string scheme = ArgText(args, "scheme", "gs");
  std::string bucket = ArgText(args, "bucket"), key = ArgText(args, "key");
  fs::path file_root;
  if (scheme == "file") {
    const fs::path p = fs::absolute(ArgText(args, "key"));
    file_root = p.parent_path().parent_path();
    bucket = p.parent_path().filename().string();
    key = p.filename().string();
  }
  auto store = OpenStore(inv_, scheme, args, file_root);
  const std::string format = Format(args);
  const std::string uri = scheme + "://" + bucket + "/" + key;
  std::vector<cn::ObjectInfo> objects;
  bool dataset = false;
  if (std::optional<cn::ObjectInfo> info = store->Stat(bucket, key)) {
    objects.push_back(*info);
  } else if (args.value("dataset_ok", false)) {
    // pq.read_table of a dataset: every Parquet object under the prefix (Hive folders).
    dataset = true;
    for (auto& o : store->List(bucket, key + "/"))
      if (o.key.ends_with(".parquet")) objects.push_back(o);
  }
  if (objects.empty()) {
    if (args.value("missing_ok", false)) return {{"missing", true}};
    throw cn::ObjectStoreError(
        cn::ObjectStoreError::Kind::kNoSuchObject,
        "download " + uri + " failed: no object '" + key + "' in bucket '" + bucket + "'");
  }
  cn::StagingFolder tmp(*store, {});
  std::string files;
  for (const auto& object : objects) {
    // A dataset keeps its col=value/ folders, which DuckDB reads back as columns.
    const fs::path dest = dataset ? tmp.path() / object.key.substr(key.size() + 1)
                                  : tmp.path() / SingleObjectName(key, format);
    fs::create_directories(dest.parent_path());
    store->Download(bucket, object.key, dest);
    files += (files.empty() ? "" : ", ") + QuoteLiteral(dest.string());
  }
  files = "[" + files + "]";
  json dtypes = json::object(), index = nullptr;
  std::string reader = Reader(format, files);
  if (format == "parquet") {
    if (dataset) reader = "read_parquet(" + files + ", hive_partitioning = true)";
    data::Result meta = duck_.Query("SELECT decode(value) FROM parquet_kv_metadata(" + files +
                                    ") WHERE decode(key) = 'pandas' LIMIT 1");
    if (meta.row_count() > 0) {
      if (auto text = meta.GetString(0, 0)) {
        std::tie(dtypes, index) = FromPandasMetadata(json::parse(*text, nullptr, false));
      }
    }
  }
  std::string select = "*";
  if (args.contains("columns") && args["columns"].is_array() && !args["columns"].empty()) {
    select.clear();
    for (const auto& c : args["columns"])
      select += (select.empty() ? "" : ", ") + QuoteIdentifier(c.get<std::string>());
    index = nullptr;  // pyarrow: selected columns only
  }
  const std::string relation = "(SELECT " + select + " FROM " + reader + " LIMIT " +
                               std::to_string(ArgNumber<uint64_t>(args, "limit", 10'000'000)) + ")";
  out.push_back(python::WriteFrame(duck_, relation, dtypes, index).first);
  return {{"kind", "frame"}};
}

json CloudCalls::Exists(const json& args) {
  const std::string scheme = ArgText(args, "scheme", "gs");
  const std::string bucket = ArgText(args, "bucket"), key = ArgText(args, "key_or_prefix");
  auto store = OpenStore(inv_, scheme, args);
  if (args.value("prefix_match", false)) return {{"exists", !store->List(bucket, key).empty()}};
  return {{"exists", store->Stat(bucket, key).has_value()}};
}

json CloudCalls::Export(const json& args, std::vector<python::UniqueFd>& fds) {
  const std::string scheme = ArgText(args, "scheme", "gs");
  std::string bucket = ArgText(args, "bucket"), key = ArgText(args, "key");
  fs::path file_root;
  if (scheme == "file") {
    const fs::path p = fs::absolute(key);
    file_root = p.parent_path().parent_path();
    bucket = p.parent_path().filename().string();
    key = p.filename().string();
  }
  auto store = OpenStore(inv_, scheme, args, file_root);
  cn::UploadOptions upload;
  upload.cancelled = [this] { return inv_.cancel.cancelled(); };
  cn::ObjectInfo info;
  if (args.contains("path") && args["path"].is_string()) {  // export("<file>", ...): as is
    const fs::path source = args["path"].get<std::string>();
    if (!fs::is_regular_file(source)) throw Error(source.string() + ": no such file to upload");
    info = store->Upload(source, bucket, key, upload);
  } else {
    if (fds.empty()) throw Error("no DataFrame was sent");
    const int fd = fds[0].get();
    python::FrameInfo frame = python::ReadFrameInfo(fd);
    if (frame.columns.empty()) throw Error("the DataFrame has no columns");
    python::RegisterFrameScan(duck_);
    std::string relation = python::FrameRelationSql(fd);
    cn::DatasetOptions options;
    options.format = Format(args);
    if (options.format == "parquet") {
      relation = ParquetRelation(relation, frame);
      options.pandas_metadata = PandasMetadata(frame, {}, ArgText(args, "pandas_version"));
      if (std::string c = ArgText(args, "compression"); !c.empty() && c != "snappy")
        options.copy_options = "COMPRESSION " + (c == "None" ? std::string("uncompressed") : c);
    }
    options.cancelled = upload.cancelled;
    cn::DatasetResult result =
        cn::ExportDataset(duck_, "(SELECT * FROM " + relation + ")", *store, bucket, key, options);
    if (!result.objects.empty()) info = result.objects.front();
  }
  destinations_.push_back(Describe(scheme, bucket, key) + " (" + CountOf(info.size, "byte") + ")");
  return {{"bytes", info.size}, {"uri", scheme + "://" + bucket + "/" + key}};
}

json CloudCalls::WriteDataset(const json& args, std::vector<python::UniqueFd>& fds) {
  const std::string scheme = ArgText(args, "scheme", "gs");
  std::string bucket, prefix;
  fs::path file_root;
  if (scheme == "file") {
    const fs::path p = fs::absolute(ArgText(args, "root"));
    file_root = p.parent_path();
    bucket = p.filename().string();
  } else {
    std::tie(bucket, prefix) = SplitRoot(ArgText(args, "root"));
  }
  if (bucket.empty()) throw Error("root_path '" + ArgText(args, "root") + "' names no bucket");
  auto store = OpenStore(inv_, scheme, args, file_root);
  if (fds.empty()) throw Error("no Table was sent");
  const int fd = fds[0].get();
  python::FrameInfo frame = python::ReadFrameInfo(fd);
  if (frame.columns.empty()) throw Error("the Table has no columns");
  python::RegisterFrameScan(duck_);

  cn::DatasetOptions options;
  std::set<std::string> partition_set;
  for (const auto& c : args.value("partition_cols", json::array())) {
    options.partition_cols.push_back(c.get<std::string>());
    partition_set.insert(c.get<std::string>());
  }
  for (const auto& c : options.partition_cols) {
    bool found = false;
    for (const auto& fc : frame.columns) found = found || fc.name == c;
    if (!found) throw Error("partition column '" + c + "' is not a column of the Table");
  }
  // pyarrow's basename_template names the whole file; DuckDB's FILENAME_PATTERN adds the suffix.
  std::string basename = ArgText(args, "basename_template", "part-{i}.parquet");
  if (basename.ends_with(".parquet")) basename.resize(basename.size() - 8);
  options.basename = basename;
  const std::string existing = ArgText(args, "existing_data_behavior", "overwrite_or_ignore");
  if (existing == "overwrite_or_ignore") {
    options.existing = cn::DatasetOptions::Existing::kOverwriteOrIgnore;
  } else if (existing == "error") {
    options.existing = cn::DatasetOptions::Existing::kError;
  } else if (existing == "delete_matching") {
    options.existing = cn::DatasetOptions::Existing::kDeleteMatching;
  } else {
    throw Error("existing_data_behavior '" + existing +
                "' is not one of overwrite_or_ignore, error, delete_matching");
  }
  options.pandas_metadata = PandasMetadata(frame, partition_set, ArgText(args, "pandas_version"));
  options.null_partition_name = "__HIVE_DEFAULT_PARTITION__";
  if (std::string c = ArgText(args, "compression"); !c.empty() && c != "snappy")
    options.copy_options = "COMPRESSION " + (c == "None" ? std::string("uncompressed") : c);
  options.parallel_uploads = inv_.services.cloud ? inv_.services.cloud->upload_parallelism : 8;
  options.cancelled = [this] { return inv_.cancel.cancelled(); };
  const std::string relation =
      "(SELECT * FROM " + ParquetRelation(python::FrameRelationSql(fd), frame) + ")";
  // Without partition columns pyarrow still writes a file inside root_path, named by the
  // template: <root>/<guid>-0.parquet, never an object named like the folder.
  std::string target = prefix;
  if (options.partition_cols.empty()) {
    std::string name = options.basename;
    if (size_t i = name.find("{i}"); i != std::string::npos) name.replace(i, 3, "0");
    target = (prefix.empty() ? "" : prefix + "/") + name + ".parquet";
  }
  cn::DatasetResult result = cn::ExportDataset(duck_, relation, *store, bucket, target, options);
  std::string by;
  for (const auto& c : options.partition_cols) by += (by.empty() ? "" : ", ") + c;
  destinations_.push_back(Describe(scheme, bucket, prefix.empty() ? "" : prefix + "/") + " (" +
                          CountOf(result.objects.size(), "object") + ", " +
                          CountOf(result.rows, "row") +
                          (by.empty() ? std::string() : ", Hive folders by " + by) + ")");
  json objects = json::array();
  for (const auto& o : result.objects) objects.push_back(o.key);
  return {{"rows", result.rows}, {"objects", objects}};
}

}  // namespace kiln::blocks
