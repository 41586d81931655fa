// connectors/cloud/cloud_services.h: what every cloud connector of one process shares: the
// local-cloud switch, the emulator hosts, Google's token cache, the HTTP options and the upload
// parallelism. Built once by cli/ next to
// the data::Engine and handed to block runners in BlockServices; only connectors/cloud/open.cc
// looks at `mode`.
#pragma once

#include <memory>
#include <string>

#include "kiln/common/environment.h"
#include "kiln/config/cloud_mode.h"
#include "kiln/connectors/google/token_cache.h"
#include "kiln/connectors/http/retry.h"

namespace kiln::connectors {

struct CloudServices {
  config::CloudMode mode;
  //! STORAGE_EMULATOR_HOST: GCS requests go there, without Authorization ("" = none).
  std::string storage_emulator_host;
  //! BIGQUERY_EMULATOR_HOST: BigQuery requests go there, without Authorization ("" = none).
  std::string bigquery_emulator_host;
  //! GOOGLE_APPLICATION_CREDENTIALS of the process ("" = unset): ADC when a block names none.
  std::string google_application_credentials;
  //! HOME: where gcloud keeps ADC (~/.config/gcloud/application_default_credentials.json).
  std::string home;
  //! Objects of one dataset uploaded at once (KILN_UPLOAD_PARALLELISM, default 8).
  int upload_parallelism = 8;
  //! Google access tokens, shared by GCS and BigQuery (and by copies of these services).
  std::shared_ptr<GoogleTokenCache> google_tokens = std::make_shared<GoogleTokenCache>();
  //! Timeouts, retry policy and warning log of the cloud clients' requests.
  HttpOptions http;
};

//! The services for `mode`, with the emulator hosts, GOOGLE_APPLICATION_CREDENTIALS, HOME and
//! KILN_UPLOAD_PARALLELISM read from `env`.
//! Throws config::ConfigError when KILN_UPLOAD_PARALLELISM is not a number from 1 to 64.
CloudServices MakeCloudServices(config::CloudMode mode, const Environment& env);

}  // namespace kiln::connectors
