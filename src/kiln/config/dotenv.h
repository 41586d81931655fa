// config/dotenv.h: `.env` files, read the way docker compose reads them, because Mage projects
// are set up with docker-compose's `env_file: .env` (the seed: `cp dev.env .env`).
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "kiln/common/environment.h"

namespace kiln::config {

//! Parses one .env file's `text` (named `file` in errors) into `env` with SetDefault, so a
//! variable already set (the process environment, or a file read earlier) wins. Lines:
//! `KEY=value`, `export KEY=value`, `# comments`, blank lines. Values: unquoted (trimmed; ` #...`
//! starts a comment), 'single-quoted' (literal), "double-quoted" (\n \t \\ \" escapes).
//! Unquoted and double-quoted values expand ${VAR}, ${VAR:-default} and $VAR from `env`.
//! Throws ConfigError "<file>:<line>: ..." for a line that is not KEY=value.
void ParseDotEnv(std::string_view text, const std::string& file, Environment& env);

//! Reads `<project>/.env`, then `<project>/../.env` (the docker-compose layout of the seed),
//! when present, into `env` (see ParseDotEnv). Returns the files read.
std::vector<std::filesystem::path> LoadDotEnvFiles(const std::filesystem::path& project_root,
                                                   Environment& env);

}  // namespace kiln::config
