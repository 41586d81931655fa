// config/dotenv.h: `.env` files, read the way docker compose reads them, because Mage projects
// are set up with docker-compose's `env_file: .env` (the seed: `cp dev.env .env`).
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "kiln/common/environment.h"

namespace kiln::config {

//! Parses one .env file's `text` (named `file` in errors) into `env` with SetDefault, so a
//! variable already set (the process environment, or a file read earlier) wins; within the file a
//! later assignment of a key replaces an earlier one. Lines: `KEY=value`, `export KEY=value`,
//! `# comments`, blank lines, a bare `KEY` (keeps the environment's value). Values: unquoted
//! (trimmed; a `#` after white space starts a comment), 'single-quoted' (literal, may span
//! lines), "double-quoted" (may span lines; \n \t \\ \" \$ escapes). Unquoted and
//! double-quoted values expand ${VAR}, ${VAR:-default}, ${VAR-default} and $VAR (the environment,
//! then earlier lines), and $$ is a literal '$'. A UTF-8 byte order mark is skipped.
//! Throws ConfigError "<file>:<line>: ..." naming the key, never echoing a value.
void ParseDotEnv(std::string_view text, const std::string& file, Environment& env);

//! Reads `<project>/.env`, then `<project>/../.env` (the docker-compose layout of the seed),
//! when present, into `env` (see ParseDotEnv). Returns the files read.
std::vector<std::filesystem::path> LoadDotEnvFiles(const std::filesystem::path& project_root,
                                                   Environment& env);

}  // namespace kiln::config
