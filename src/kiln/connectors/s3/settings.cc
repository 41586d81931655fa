#include "kiln/connectors/s3/settings.h"

#include <fstream>
#include <map>
#include <optional>

namespace kiln::connectors {
namespace {

std::string Trim(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return "";
  const size_t end = text.find_last_not_of(" \t\r");
  return std::string(text.substr(begin, end - begin + 1));
}

//! The `key = value` pairs of section [`section`] of the INI file `path`; nullopt when the file
//! cannot be read or has no such section.
std::optional<std::map<std::string, std::string>> ReadIniSection(const std::filesystem::path& path,
                                                                 const std::string& section) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::optional<std::map<std::string, std::string>> found;
  bool inside = false;
  std::string line;
  while (std::getline(in, line)) {
    const std::string text = Trim(line);
    if (text.empty() || text[0] == '#' || text[0] == ';') continue;
    if (text.front() == '[' && text.back() == ']') {
      inside = Trim(std::string_view(text).substr(1, text.size() - 2)) == section;
      if (inside && !found) found.emplace();
      continue;
    }
    const size_t eq = text.find('=');
    if (inside && eq != std::string::npos) {
      (*found)[Trim(std::string_view(text).substr(0, eq))] =
          Trim(std::string_view(text).substr(eq + 1));
    }
  }
  return found;
}

std::string Env(const Environment& env, std::string_view name) {
  return env.Get(name).value_or("");
}

}  // namespace

S3Settings S3SettingsFromProfile(const config::IoProfile& profile) {
  S3Settings s;
  s.access_key_id = profile.Get("AWS_ACCESS_KEY_ID").value_or("");
  s.secret_access_key = profile.Get("AWS_SECRET_ACCESS_KEY").value_or("");
  s.session_token = profile.Get("AWS_SESSION_TOKEN").value_or("");
  s.region = profile.Get("AWS_REGION").value_or("");
  s.endpoint = profile.Get("AWS_ENDPOINT").value_or("");
  s.origin = profile.file() + " profile '" + profile.name() + "'";
  return s;
}

S3Settings ResolveS3Settings(S3Settings s, const Environment& env,
                             const std::filesystem::path& home) {
  const std::string origin = s.origin.empty() ? "io_config.yaml" : s.origin;
  if (!s.access_key_id.empty()) {
    s.secret_source = "AWS_SECRET_ACCESS_KEY of " + origin;
  } else if (!Env(env, "AWS_ACCESS_KEY_ID").empty()) {
    s.access_key_id = Env(env, "AWS_ACCESS_KEY_ID");
    s.secret_access_key = Env(env, "AWS_SECRET_ACCESS_KEY");
    s.session_token = Env(env, "AWS_SESSION_TOKEN");
    s.secret_source = "the environment variable AWS_SECRET_ACCESS_KEY";
  } else {
    std::string section = Env(env, "AWS_PROFILE");
    if (section.empty()) section = "default";
    std::filesystem::path file = Env(env, "AWS_SHARED_CREDENTIALS_FILE");
    if (file.empty()) file = home / ".aws" / "credentials";
    const auto values = ReadIniSection(file, section);
    if (values && values->count("aws_access_key_id")) {
      s.access_key_id = values->at("aws_access_key_id");
      s.secret_access_key =
          values->count("aws_secret_access_key") ? values->at("aws_secret_access_key") : "";
      s.session_token = values->count("aws_session_token") ? values->at("aws_session_token") : "";
      s.secret_source = "aws_secret_access_key of [" + section + "] in " + file.string();
    } else {
      throw config::ConfigError(
          origin + " has no AWS_ACCESS_KEY_ID, nor has the environment, nor [" + section + "] of " +
          file.string() + " (or run with --local-cloud DIR / KILN_LOCAL_CLOUD=DIR)");
    }
  }
  if (s.secret_access_key.empty()) {
    throw config::ConfigError(s.secret_source + " is missing (access key id " + s.access_key_id +
                              ")");
  }
  if (s.region.empty()) s.region = Env(env, "AWS_REGION");
  if (s.region.empty()) s.region = Env(env, "AWS_DEFAULT_REGION");
  if (s.region.empty()) s.region = "us-east-1";
  return s;
}

}  // namespace kiln::connectors
