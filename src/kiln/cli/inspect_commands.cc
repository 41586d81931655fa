#include <fmt/format.h>

#include <algorithm>

#include "kiln/blocks/block_runner.h"
#include "kiln/cli/commands.h"
#include "kiln/cli/paths.h"
#include "kiln/project/error.h"
#include "kiln/project/project.h"

namespace kiln::cli {

int PipelinesCommand(const std::filesystem::path& root) {
  try {
    project::Project project = project::Project::Open(root, ProjectEnvironment(root));
    std::vector<std::string> uuids = project.PipelineUuids();
    if (uuids.empty()) {
      fmt::print("No pipelines in {} (pipelines/<uuid>/metadata.yaml)\n", project.root().string());
      return 0;
    }
    size_t width = 8;
    for (const auto& u : uuids) width = std::max(width, u.size());
    fmt::print("{:<{}}  {:<8} {:>6}  {}\n", "PIPELINE", width, "TYPE", "BLOCKS", "DESCRIPTION");
    int status = 0;
    for (const auto& uuid : uuids) {
      try {
        project::Pipeline p = project.LoadPipeline(uuid);
        fmt::print("{:<{}}  {:<8} {:>6}  {}\n", uuid, width, p.type(), p.ExecutableBlocks().size(),
                   p.description());
      } catch (const project::ProjectError& e) {
        fmt::print("{:<{}}  {:<8} {:>6}  invalid: {}\n", uuid, width, "?", "?", e.what());
        status = 2;
      }
    }
    return status;
  } catch (const Error& e) {
    fmt::print(stderr, "kiln: error: {}\n", e.what());
    return 2;
  }
}

int ShowCommand(const std::filesystem::path& root, const std::string& uuid) {
  try {
    project::Project project = project::Project::Open(root, ProjectEnvironment(root));
    project::Pipeline p = project.LoadPipeline(uuid);
    fmt::print("Pipeline {} ({}, type {})\n", p.uuid(), p.name(), p.type());
    if (!p.description().empty()) fmt::print("  {}\n", p.description());
    fmt::print("File: {}\n", p.metadata_path().string());
    if (p.variables().is_object() && !p.variables().empty())
      fmt::print("Variables: {}\n", p.variables().dump());

    std::vector<project::Diagnostic> diagnostics = p.Validate();
    bool has_errors = std::any_of(diagnostics.begin(), diagnostics.end(), [](const auto& d) {
      return d.severity == project::Diagnostic::Severity::kError;
    });
    auto order = has_errors ? p.ExecutableBlocks() : p.TopologicalOrder();
    size_t width = 5;
    for (const auto& b : p.blocks()) width = std::max(width, b.uuid.size());
    fmt::print("\n{:<{}}  {:<14} {:<9} {}\n", "BLOCK", width, "TYPE", "LANGUAGE", "UPSTREAM");
    auto print_block = [&](const project::BlockSpec& b, const char* note) {
      std::string up;
      for (const auto& u : b.upstream_blocks) up += (up.empty() ? "" : ", ") + u;
      fmt::print("{:<{}}  {:<14} {:<9} {}{}\n", b.uuid, width, project::BlockTypeName(b.type),
                 project::BlockLanguageName(b.language), up.empty() ? "-" : up, note);
    };
    for (const auto* b : order) {
      auto why = blocks::UnsupportedReason(*b);
      print_block(*b, why ? "   (cannot run here yet)" : "");
    }
    for (const auto& b : p.blocks())
      if (!project::IsExecutableInRuns(b.type)) print_block(b, "   (not run in pipeline runs)");
    for (const auto& b : p.addon_blocks()) print_block(b, "   (add-on)");

    fmt::print("\nEdges:\n");
    bool any_edge = false;
    for (const auto* b : order) {
      for (const auto& u : b->upstream_blocks) {
        fmt::print("  {} -> {}\n", u, b->uuid);
        any_edge = true;
      }
    }
    if (!any_edge) fmt::print("  (none)\n");
    if (!diagnostics.empty()) {
      fmt::print("\nProblems:\n");
      for (const auto& d : diagnostics) {
        fmt::print("  {}: {}\n",
                   d.severity == project::Diagnostic::Severity::kError ? "error" : "warning",
                   d.message);
      }
    }
    for (const auto* b : p.ExecutableBlocks()) {
      if (auto why = blocks::UnsupportedReason(*b))
        fmt::print("  note: block '{}' cannot run in this build: {}\n", b->uuid, *why);
    }
    return has_errors ? 2 : 0;
  } catch (const Error& e) {
    fmt::print(stderr, "kiln: error: {}\n", e.what());
    return 2;
  }
}

}  // namespace kiln::cli
