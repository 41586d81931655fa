#include "kiln/blocks/sql/remote_targets.h"

#include <cctype>
#include <random>

#include "kiln/blocks/sql/block_sql.h"
#include "kiln/common/names.h"
#include "kiln/common/text.h"
#include "kiln/connectors/cloud/open.h"
#include "kiln/connectors/object_store/dataset_export.h"
#include "kiln/data/sql_script.h"

namespace kiln::blocks::sql {
namespace fs = std::filesystem;
namespace {

// White space and comments from `i` on; the index of what follows.
size_t SkipSpaceAndComments(const std::string& text, size_t i) {
  for (;;) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i >= text.size() || (text[i] != '-' && text[i] != '/')) return i;
    const size_t next = data::SkipQuotedOrComment(text, i);
    if (next == i) return i;
    i = next;
  }
}

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string RandomName() {
  std::random_device rd;
  std::uniform_int_distribution<int> hex(0, 15);
  std::string name;
  for (int i = 0; i < 32; ++i) name += "0123456789abcdef"[hex(rd)];
  return name;
}

}  // namespace

// Whether COPY option `name` (upper case) is on in `options` (the upper-cased text after the TO
//! literal): given bare or followed by TRUE/1, not FALSE/0. Strings and comments are skipped,
//! so a FILENAME_PATTERN 'overwrite_{i}' is not the option.
bool CopyOption(const std::string& options, std::string_view name) {
  std::vector<std::string> words;
  for (size_t i = 0; i < options.size();) {
    const char c = options[i];
    if (const size_t next = data::SkipQuotedOrComment(options, i); next != i) {
      if (c != '-' && c != '/') words.emplace_back("'");  // a string: a value, never an option
      i = next;
    } else if (IsWordChar(c)) {
      size_t end = i;
      while (end < options.size() && IsWordChar(options[end])) ++end;
      words.push_back(options.substr(i, end - i));
      i = end;
    } else {
      ++i;
    }
  }
  for (size_t w = 0; w < words.size(); ++w) {
    if (words[w] != name) continue;
    const bool off = w + 1 < words.size() && (words[w + 1] == "FALSE" || words[w + 1] == "0");
    if (!off) return true;
  }
  return false;
}

std::optional<RemoteCopyTarget> FindRemoteCopyTarget(const std::string& statement) {
  if (data::FirstKeyword(statement) != "COPY") return std::nullopt;
  int depth = 0;
  for (size_t i = 0; i < statement.size();) {
    const char c = statement[i];
    if (const size_t next = data::SkipQuotedOrComment(statement, i); next != i) {
      i = next;
    } else if (c == '(') {
      ++depth, ++i;
    } else if (c == ')') {
      --depth, ++i;
    } else if (depth == 0 && (c == 'T' || c == 't') && i + 1 < statement.size() &&
               (statement[i + 1] == 'O' || statement[i + 1] == 'o') &&
               (i == 0 || !IsWordChar(statement[i - 1])) &&
               (i + 2 >= statement.size() || !IsWordChar(statement[i + 2]))) {
      const size_t lit = SkipSpaceAndComments(statement, i + 2);
      if (lit >= statement.size() || statement[lit] != '\'') return std::nullopt;
      const size_t end = data::SkipQuotedOrComment(statement, lit);
      std::string value = statement.substr(lit + 1, end - lit - 2);
      std::string unescaped;
      for (size_t k = 0; k < value.size(); ++k) {
        unescaped += value[k];
        if (value[k] == '\'' && k + 1 < value.size() && value[k + 1] == '\'') ++k;
      }
      if (!unescaped.starts_with("gs://") && !unescaped.starts_with("gcs://") &&
          !unescaped.starts_with("s3://")) {
        return std::nullopt;
      }
      if (unescaped.starts_with("gcs://")) unescaped = "gs://" + unescaped.substr(6);
      return RemoteCopyTarget{.literal_offset = lit,
                              .literal_length = end - lit,
                              .uri = unescaped,
                              .options_upper = Upper(statement.substr(end))};
    } else {
      ++i;
    }
  }
  return std::nullopt;
}

uint64_t RunRemoteCopy(BlockInvocation& inv, data::Connection& conn, const std::string& statement,
                       const RemoteCopyTarget& target, std::vector<std::string>& destinations) {
  const std::string where = "block '" + inv.block.uuid + "': COPY TO " + target.uri;
  if (!inv.services.cloud) throw BlockError(where + ": this process has no cloud services");
  connectors::CloudServices& cloud = *inv.services.cloud;
  try {
    const connectors::ObjectUri uri = connectors::ParseObjectUri(target.uri);
    connectors::ObjectStoreAuth auth;
    if (!cloud.mode.local()) {
      config::IoProfile profile = ProviderProfile(inv, /*default_may_be_missing=*/false);
      if (uri.scheme == "gs") {
        auth = connectors::GoogleAuthForProfile(profile, cloud, nullptr);
      } else {
        auth = connectors::S3SettingsFromProfile(profile);
      }
    }
    std::unique_ptr<connectors::ObjectStore> store =
        connectors::OpenObjectStore(uri.scheme, auth, cloud);
    connectors::StagingFolder staging(*store, {});
    const fs::path local = staging.path() / "copy";
    std::string text = statement;
    text.replace(target.literal_offset, target.literal_length, QuoteLiteral(local.string()));
    data::Result r = conn.Query(text);
    const uint64_t rows = r.row_count() == 1 ? static_cast<uint64_t>(r.GetInt64(0, 0)) : 0;

    using Existing = connectors::DatasetOptions::Existing;
    connectors::DatasetOptions publish;
    const std::string& o = target.options_upper;
    const bool folder = fs::is_directory(local);
    const bool append = CopyOption(o, "APPEND");
    if (!folder || append || CopyOption(o, "OVERWRITE_OR_IGNORE")) {
      publish.existing = Existing::kOverwriteOrIgnore;  // a single file replaces its object
    } else if (CopyOption(o, "OVERWRITE")) {
      publish.existing = Existing::kReplaceAll;
    } else {
      publish.existing = Existing::kError;  // DuckDB: the folder must not exist
    }
    if (append && folder) {  // fresh names, as DuckDB's APPEND
      const std::string tag = RandomName();
      std::vector<fs::path> files;
      for (const auto& entry : fs::recursive_directory_iterator(local))
        if (entry.is_regular_file()) files.push_back(entry.path());
      for (const fs::path& f : files)
        fs::rename(f, f.parent_path() / (tag + "_" + f.filename().string()));
    }
    publish.parallel_uploads = cloud.upload_parallelism;
    publish.cancelled = [&inv] { return inv.cancel.cancelled(); };
    std::vector<connectors::ObjectInfo> objects =
        connectors::PublishStaged(*store, uri.bucket, uri.key, local, publish);
    std::string line =
        uri.ToString() + " (" + CountOf(objects.size(), "object") + ", " + CountOf(rows, "row");
    if (cloud.mode.local()) line += ", local cloud: " + cloud.mode.local_root->string();
    destinations.push_back(line + ")");
    return rows;
  } catch (const data::DataError&) {
    throw;  // the caller names the statement and line
  } catch (const std::exception& e) {
    throw BlockError(where + ": " + e.what());
  }
}

}  // namespace kiln::blocks::sql
