#include "kiln/connectors/cloud/open.h"

#include <charconv>

#include "kiln/connectors/gcs/gcs_store.h"
#include "kiln/connectors/local/local_store.h"
#include "kiln/connectors/s3/s3_store.h"

namespace kiln::connectors {

CloudServices MakeCloudServices(config::CloudMode mode, const Environment& env) {
  CloudServices services;
  services.mode = std::move(mode);
  services.storage_emulator_host = env.Get("STORAGE_EMULATOR_HOST").value_or("");
  services.bigquery_emulator_host = env.Get("BIGQUERY_EMULATOR_HOST").value_or("");
  services.google_application_credentials = env.Get("GOOGLE_APPLICATION_CREDENTIALS").value_or("");
  services.home = env.Get("HOME").value_or("");
  if (std::optional<std::string> text = env.Get("KILN_UPLOAD_PARALLELISM");
      text && !text->empty()) {
    int n = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
    if (ec != std::errc() || end != text->data() + text->size() || n < 1 || n > 64) {
      throw config::ConfigError("KILN_UPLOAD_PARALLELISM=" + *text +
                                " is not a number of uploads from 1 to 64");
    }
    services.upload_parallelism = n;
  }
  return services;
}

namespace {

//! GCS with the credentials of `auth` (key JSON, key file or ADC), or the emulator of
//! STORAGE_EMULATOR_HOST without credentials.
std::unique_ptr<ObjectStore> OpenGcsStore(const ObjectStoreAuth& auth, CloudServices& services) {
  if (!services.storage_emulator_host.empty()) {
    return std::make_unique<GcsObjectStore>(GcsEmulatorBaseUrl(services.storage_emulator_host),
                                            std::nullopt, services.google_tokens, services.http);
  }
  const auto* google = std::get_if<GoogleAuth>(&auth);
  if (!google) {
    throw ObjectStoreError(ObjectStoreError::Kind::kAuthentication,
                           "gs:// needs Google credentials (GOOGLE_SERVICE_ACC_KEY or "
                           "GOOGLE_SERVICE_ACC_KEY_FILEPATH of io_config.yaml)");
  }
  const std::string& env_adc = services.google_application_credentials;
  GoogleCredentials credentials;
  try {
    credentials = LoadGoogleCredentials(
        *google, env_adc.empty() ? std::nullopt : std::optional<std::string>(env_adc),
        std::filesystem::path(services.home));
  } catch (const CredentialsError& e) {
    // No key at all (the course's /home/src/... path exists only in Mage's container): say
    // how to go on without one. A key that is there but wrong needs no such hint.
    const auto* file = std::get_if<std::filesystem::path>(&google->source);
    if (std::holds_alternative<nlohmann::json>(google->source) ||
        (file && std::filesystem::exists(*file))) {
      throw;
    }
    throw CredentialsError(std::string(e.what()) +
                           " (or run with --local-cloud DIR / KILN_LOCAL_CLOUD=DIR)");
  }
  return std::make_unique<GcsObjectStore>(kGcsBaseUrl, std::move(credentials),
                                          services.google_tokens, services.http);
}

//! S3 with the profile's settings (none: boto3's fallbacks alone), completed from the process
//! environment and ~/.aws/credentials as boto3 does.
std::unique_ptr<ObjectStore> OpenS3Store(const ObjectStoreAuth& auth,
                                         const CloudServices& services) {
  if (std::holds_alternative<GoogleAuth>(auth)) {
    throw config::ConfigError("s3:// needs AWS settings (AWS_ACCESS_KEY_ID, ...), not Google's");
  }
  const S3Settings* settings = std::get_if<S3Settings>(&auth);
  return std::make_unique<S3ObjectStore>(
      ResolveS3Settings(settings ? *settings : S3Settings{}, Environment::FromProcess(),
                        services.home),
      services.http);
}

}  // namespace

std::unique_ptr<ObjectStore> OpenObjectStore(std::string_view scheme, const ObjectStoreAuth& auth,
                                             CloudServices& services) {
  if (scheme != "gs" && scheme != "s3") {
    throw ObjectStoreError(
        ObjectStoreError::Kind::kOther,
        "no object store for scheme '" + std::string(scheme) + "' (Kiln serves gs:// and s3://)");
  }
  if (services.mode.local()) {
    return std::make_unique<LocalObjectStore>(*services.mode.local_root, std::string(scheme));
  }
  if (scheme == "s3") return OpenS3Store(auth, services);
  return OpenGcsStore(auth, services);
}

GoogleAuth GoogleAuthForProfile(const config::IoProfile& profile, const CloudServices& services,
                                std::string* warning) {
  if (!services.mode.local()) return GoogleAuthFromProfile(profile);
  try {
    return GoogleAuthFromProfile(profile);
  } catch (const config::ConfigError& e) {
    if (warning) *warning = std::string("without --local-cloud this block would fail: ") + e.what();
    return GoogleAuth{};
  }
}

}  // namespace kiln::connectors
