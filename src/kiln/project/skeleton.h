// project/skeleton.h: `kiln init`: a new project laid out as Mage's `mage init` template (§1).
#pragma once

#include <filesystem>
#include <vector>

namespace kiln::project {

//! Creates the project folder `root` (it must not exist, or be empty): metadata.yaml,
//! io_config.yaml, requirements.txt, .gitignore, __init__.py, Mage's block folders (each with an
//! __init__.py) and `pipelines/example_pipeline`, three SQL blocks that run offline. Returns the
//! files written, relative to `root`. Throws ProjectError when `root` holds files already.
std::vector<std::filesystem::path> CreateProjectSkeleton(const std::filesystem::path& root);

}  // namespace kiln::project
