// template/env_functions.h: the helper functions Mage puts in every template (§6.3):
// env_var(name) and json_value(json_string, key_or_path).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kiln/common/environment.h"
#include "kiln/template/render.h"

namespace kiln::templating {

//! What env_var() gives for a variable that is not set.
enum class UnsetEnvPolicy {
  //! An undefined value: printing it fails the render with "environment variable 'X' is not
  //! set"; `|default(...)` and `is defined` handle it. For SQL blocks and metadata.yaml.
  kUndefined,
  //! A marker string that the render keeps, so that a file such as io_config.yaml still renders
  //! and only the setting that uses the variable fails later (FindUnsetEnvMarker).
  kMarker,
};

//! Defines env_var(name[, default]) over `env`, mage_secret_var(name) (Kiln has no secret store
//! yet: secrets are environment variables, e.g. from the project's .env) and
//! json_value(text, "a.b.0") in `context`.
//! `env` must outlive every render that uses the context.
void AddEnvironmentFunctions(Context& context, const Environment& env,
                             UnsetEnvPolicy policy = UnsetEnvPolicy::kUndefined);

//! The name of the first unset variable whose marker (UnsetEnvPolicy::kMarker) is in `text`.
std::optional<std::string> FindUnsetEnvMarker(std::string_view text);

}  // namespace kiln::templating
