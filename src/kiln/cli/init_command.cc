#include <fmt/format.h>

#include "kiln/cli/commands.h"
#include "kiln/common/error.h"
#include "kiln/project/skeleton.h"

namespace kiln::cli {

int InitCommand(const std::filesystem::path& dir) {
  try {
    auto files = project::CreateProjectSkeleton(dir);
    fmt::print("Created project {} ({} files)\n", std::filesystem::absolute(dir).string(),
               files.size());
    fmt::print("Next:\n  kiln pipelines {0}\n  kiln run {0} example_pipeline\n", dir.string());
    return 0;
  } catch (const Error& e) {
    fmt::print(stderr, "kiln: error: {}\n", e.what());
    return 2;
  }
}

}  // namespace kiln::cli
