#include "kiln/connectors/s3/settings.h"

namespace kiln::connectors {

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

}  // namespace kiln::connectors
