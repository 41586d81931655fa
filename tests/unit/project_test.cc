// The project model: Mage's metadata.yaml files, block file resolution and the DAG checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/common/yaml.h"
#include "kiln/project/error.h"
#include "kiln/project/project.h"
#include "support/temp_dir.h"

namespace kiln::project {
namespace {

using kiln::testing::TempDir;
using ::testing::HasSubstr;

class ProjectTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_.Write("metadata.yaml", "project_type: standalone\n"); }
  void Pipeline(const std::string& uuid, const std::string& yaml) {
    dir_.Write("pipelines/" + uuid + "/metadata.yaml", yaml);
  }
  void BlockFile(const std::string& relative) { dir_.Write(relative, "SELECT 1\n"); }
  Project Open() { return Project::Open(dir_.path(), Environment::FromMap({{"HOME", "/home/u"}})); }
  std::vector<std::string> Messages(const std::vector<Diagnostic>& ds,
                                    Diagnostic::Severity severity) {
    std::vector<std::string> out;
    for (const auto& d : ds)
      if (d.severity == severity) out.push_back(d.message);
    return out;
  }
  TempDir dir_;
};

TEST_F(ProjectTest, PipelineUuidIsTheFolderNameNotTheUuidKey) {
  Pipeline("real_name", "uuid: something_else\nblocks: []\n");
  Project p = Open();
  EXPECT_THAT(p.PipelineUuids(), ::testing::ElementsAre("real_name"));
  EXPECT_EQ(p.LoadPipeline("real_name").uuid(), "real_name");
}

TEST_F(ProjectTest, FoldersWithoutMetadataAreNotPipelines) {
  Pipeline("a", "blocks: []\n");
  dir_.Write("pipelines/__init__.py", "");
  dir_.Write("pipelines/not_a_pipeline/notes.txt", "x");
  EXPECT_THAT(Open().PipelineUuids(), ::testing::ElementsAre("a"));
}

TEST_F(ProjectTest, UnknownPipelineErrorListsTheKnownOnes) {
  Pipeline("a", "blocks: []\n");
  Pipeline("b", "blocks: []\n");
  try {
    Open().LoadPipeline("c");
    FAIL() << "expected ProjectError";
  } catch (const ProjectError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no pipeline 'c'"));
    EXPECT_THAT(e.what(), HasSubstr("known: a, b"));
  }
}

TEST_F(ProjectTest, FolderWithoutProjectFilesIsNotAProject) {
  TempDir empty;
  EXPECT_THROW(Project::Open(empty.path(), Environment::FromMap({})), ProjectError);
}

TEST_F(ProjectTest, BlockFilesAreFoundByTypeFolderAndUuid) {
  Pipeline("p", R"(blocks:
- {uuid: load, type: data_loader, language: sql}
- {uuid: clean, type: transformer}
- {uuid: x, type: custom, language: sql}
- {uuid: api/load_stripe, type: data_loader}
)");
  auto p = Open().LoadPipeline("p");
  EXPECT_EQ(p.blocks()[0].file_path, dir_.path() / "data_loaders/load.sql");
  EXPECT_EQ(p.blocks()[1].file_path, dir_.path() / "transformers/clean.py");
  EXPECT_EQ(p.blocks()[1].language, BlockLanguage::kPython);  // Mage's default
  EXPECT_EQ(p.blocks()[2].file_path, dir_.path() / "custom/x.sql");
  EXPECT_EQ(p.blocks()[3].file_path, dir_.path() / "data_loaders/api/load_stripe.py");
}

TEST_F(ProjectTest, ConfiguredFilePathWinsWithOrWithoutProjectNamePrefix) {
  std::string name = dir_.path().filename().string();
  BlockFile("shared/q.sql");
  Pipeline("p",
           "blocks:\n- uuid: a\n  type: data_loader\n  language: sql\n  configuration:\n"
           "    file_path: " +
               name +
               "/shared/q.sql\n"
               "- uuid: b\n  type: data_loader\n  language: sql\n  configuration:\n"
               "    file_path: shared/q.sql\n");
  auto p = Open().LoadPipeline("p");
  EXPECT_EQ(p.blocks()[0].file_path, dir_.path() / "shared/q.sql");
  EXPECT_EQ(p.blocks()[1].file_path, dir_.path() / "shared/q.sql");
}

TEST_F(ProjectTest, UnknownKeysArePreservedAndIgnored) {
  Pipeline("p", R"(blocks:
- uuid: a
  type: data_loader
  language: sql
  color: teal
  executor_type: local_python
  all_upstream_blocks_executed: true
some_future_key: {x: 1}
)");
  auto p = Open().LoadPipeline("p");
  EXPECT_EQ(p.blocks()[0].raw["color"], "teal");
  EXPECT_EQ(p.raw()["some_future_key"]["x"], 1);
}

TEST_F(ProjectTest, YamlOneOneScalarsResolveAsPyYamlDoes) {
  YAML::Node n = ParseYaml(
      "a: yes\nb: 'yes'\nc: ~\nd: 0x1f\ne: 1_000\nf: 1.5e+3\ng: Off\nh: 2021-01-01\n"
      "i: 02139\nj: 1e3\nk: 0b101\nl: 1:30\nm: 017\nn: y\no: -.inf\n",
      "t");
  nlohmann::json j = YamlToJson(n);
  EXPECT_EQ(j["a"], true);
  EXPECT_EQ(j["b"], "yes");
  EXPECT_TRUE(j["c"].is_null());
  EXPECT_EQ(j["d"], 31);
  EXPECT_EQ(j["e"], 1000);
  EXPECT_EQ(j["f"], 1500.0);
  EXPECT_EQ(j["g"], false);
  EXPECT_EQ(j["h"], "2021-01-01");
  EXPECT_EQ(j["i"], "02139");  // not octal (has a 9), not a float (no dot): a string
  EXPECT_EQ(j["j"], "1e3");    // YAML 1.1 floats need a dot and a signed exponent
  EXPECT_EQ(j["k"], 5);
  EXPECT_EQ(j["l"], 90);  // sexagesimal
  EXPECT_EQ(j["m"], 15);  // octal
  EXPECT_EQ(j["n"], "y");
  EXPECT_EQ(j["o"], -std::numeric_limits<double>::infinity());
}

TEST_F(ProjectTest, InvalidYamlNamesFileAndLine) {
  Pipeline("p", "blocks:\n- uuid: a\n  type: [unclosed\n");
  try {
    Open().LoadPipeline("p");
    FAIL();
  } catch (const ProjectError& e) {
    EXPECT_THAT(e.what(), HasSubstr("pipelines/p/metadata.yaml:"));
    EXPECT_THAT(e.what(), HasSubstr("invalid YAML"));
  }
}

TEST_F(ProjectTest, BlockWithoutUuidOrTypeIsRejectedWithItsLine) {
  Pipeline("p", "blocks:\n- uuid: a\n  type: data_loader\n- type: transformer\n");
  EXPECT_THAT([&] { Open().LoadPipeline("p"); },
              ::testing::ThrowsMessage<ProjectError>(
                  HasSubstr("metadata.yaml:4: a block in 'blocks' has no uuid")));
  Pipeline("q", "blocks:\n- uuid: a\n");
  EXPECT_THAT([&] { Open().LoadPipeline("q"); },
              ::testing::ThrowsMessage<ProjectError>(HasSubstr("block 'a' has no type")));
}

TEST_F(ProjectTest, InvalidBlockTypeAndLanguageAreRejected) {
  Pipeline("p", "blocks:\n- {uuid: a, type: loader}\n");
  EXPECT_THAT([&] { Open().LoadPipeline("p"); },
              ::testing::ThrowsMessage<ProjectError>(HasSubstr("invalid block type 'loader'")));
  Pipeline("q", "blocks:\n- {uuid: a, type: data_loader, language: cobol}\n");
  EXPECT_THAT([&] { Open().LoadPipeline("q"); },
              ::testing::ThrowsMessage<ProjectError>(HasSubstr("unknown language 'cobol'")));
}

TEST_F(ProjectTest, DuplicateUuidsAreRejectedNamingBothLines) {
  Pipeline("p", "blocks:\n- {uuid: a, type: data_loader}\n- {uuid: a, type: transformer}\n");
  EXPECT_THAT([&] { Open().LoadPipeline("p"); },
              ::testing::ThrowsMessage<ProjectError>(HasSubstr(
                  "metadata.yaml:3: duplicate block uuid 'a' (first declared on line 2)")));
}

TEST_F(ProjectTest, UnknownUpstreamIsAnErrorNamingFileLineAndBlock) {
  BlockFile("transformers/t.sql");
  Pipeline(
      "p",
      "blocks:\n- uuid: t\n  type: transformer\n  language: sql\n  upstream_blocks: [ghost]\n");
  auto errors = Messages(Open().LoadPipeline("p").Validate(), Diagnostic::Severity::kError);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(
      errors[0],
      HasSubstr("pipelines/p/metadata.yaml:2: block 't' names unknown upstream block 'ghost'"));
}

TEST_F(ProjectTest, CycleIsReportedWithTheChain) {
  for (auto f : {"data_loaders/a.sql", "transformers/b.sql", "transformers/c.sql"}) BlockFile(f);
  Pipeline("p", R"(blocks:
- {uuid: a, type: data_loader, language: sql, upstream_blocks: [c], downstream_blocks: [b]}
- {uuid: b, type: transformer, language: sql, upstream_blocks: [a], downstream_blocks: [c]}
- {uuid: c, type: transformer, language: sql, upstream_blocks: [b], downstream_blocks: [a]}
)");
  auto errors = Messages(Open().LoadPipeline("p").Validate(), Diagnostic::Severity::kError);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("dependency cycle"));
  EXPECT_THAT(errors[0], HasSubstr("a <- c <- b <- a"));
}

TEST_F(ProjectTest, SelfDependencyIsAnError) {
  BlockFile("data_loaders/a.sql");
  Pipeline("p", "blocks:\n- {uuid: a, type: data_loader, language: sql, upstream_blocks: [a]}\n");
  auto errors = Messages(Open().LoadPipeline("p").Validate(), Diagnostic::Severity::kError);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("block 'a' lists itself as an upstream block"));
}

TEST_F(ProjectTest, MissingBlockFileIsAnError) {
  Pipeline("p", "blocks:\n- {uuid: a, type: data_loader, language: sql}\n");
  auto errors = Messages(Open().LoadPipeline("p").Validate(), Diagnostic::Severity::kError);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("block 'a' has no code file"));
  EXPECT_THAT(errors[0], HasSubstr("data_loaders/a.sql does not exist"));
}

TEST_F(ProjectTest, InlineContentNeedsNoFile) {
  Pipeline("p", "blocks:\n- {uuid: a, type: data_loader, language: sql, content: 'SELECT 1'}\n");
  auto p = Open().LoadPipeline("p");
  EXPECT_TRUE(p.Validate().empty());
  EXPECT_EQ(*p.blocks()[0].content, "SELECT 1");
}

TEST_F(ProjectTest, DisagreeingDownstreamListsWarnAndUpstreamIsTrusted) {
  BlockFile("data_loaders/a.sql");
  BlockFile("transformers/b.sql");
  BlockFile("transformers/c.sql");
  Pipeline("p", R"(blocks:
- {uuid: a, type: data_loader, language: sql, downstream_blocks: [c]}
- {uuid: b, type: transformer, language: sql, upstream_blocks: [a]}
- {uuid: c, type: transformer, language: sql}
)");
  auto p = Open().LoadPipeline("p");
  auto diagnostics = p.Validate();
  EXPECT_TRUE(Messages(diagnostics, Diagnostic::Severity::kError).empty());
  auto warnings = Messages(diagnostics, Diagnostic::Severity::kWarning);
  EXPECT_THAT(
      warnings,
      ::testing::UnorderedElementsAre(
          HasSubstr("block 'b' has upstream 'a' whose downstream_blocks do not list it"),
          HasSubstr("block 'a' lists downstream 'c' whose upstream_blocks do not name it")));
  // Order follows upstream_blocks only: c does not wait for a.
  auto order = p.TopologicalOrder();
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0]->uuid, "a");
}

TEST_F(ProjectTest, TopologicalOrderPutsUpstreamsFirstAndKeepsFileOrderOtherwise) {
  for (auto f :
       {"data_exporters/e.sql", "transformers/t.sql", "data_loaders/l.sql", "data_loaders/m.sql"})
    BlockFile(f);
  Pipeline("p", R"(blocks:
- {uuid: e, type: data_exporter, language: sql, upstream_blocks: [t]}
- {uuid: t, type: transformer, language: sql, upstream_blocks: [l, m]}
- {uuid: l, type: data_loader, language: sql}
- {uuid: m, type: data_loader, language: sql}
- {uuid: notes, type: markdown, language: markdown}
)");
  auto pipeline = Open().LoadPipeline("p");
  auto order = pipeline.TopologicalOrder();
  std::vector<std::string> uuids;
  for (auto* b : order) uuids.push_back(b->uuid);
  EXPECT_THAT(uuids, ::testing::ElementsAre("l", "m", "t", "e"));  // markdown never runs
}

TEST_F(ProjectTest, ProjectMetadataIsRenderedWithEnvVars) {
  dir_.Write("metadata.yaml", "variables_dir: \"{{ env_var('DATA_ROOT') }}/vars\"\n");
  Project p = Project::Open(dir_.path(), Environment::FromMap({{"DATA_ROOT", "/srv"}}));
  EXPECT_EQ(p.settings()["variables_dir"], "/srv/vars");
}

TEST_F(ProjectTest, VariablesDirRules) {
  TempDir data;
  auto env = Environment::FromMap({{"HOME", data.path().string()}});
  std::string name = dir_.path().filename().string();
  // default: ~/.mage_data/<project>
  EXPECT_EQ(ResolveVariablesDir(Open(), env, std::nullopt).path, data.path() / ".mage_data" / name);
  // absolute variables_dir gets the project name appended
  dir_.Write("metadata.yaml", "variables_dir: " + (data.path() / "abs").string() + "\n");
  EXPECT_EQ(ResolveVariablesDir(Project::Open(dir_.path(), env), env, std::nullopt).path,
            data.path() / "abs" / name);
  // relative: inside the project
  dir_.Write("metadata.yaml", "variables_dir: .kiln\n");
  EXPECT_EQ(ResolveVariablesDir(Project::Open(dir_.path(), env), env, std::nullopt).path,
            dir_.path() / ".kiln");
  // MAGE_DATA_DIR wins over the file; --data-dir wins over everything
  auto env2 = Environment::FromMap(
      {{"HOME", data.path().string()}, {"MAGE_DATA_DIR", (data.path() / "m").string()}});
  EXPECT_EQ(ResolveVariablesDir(Project::Open(dir_.path(), env2), env2, std::nullopt).path,
            data.path() / "m" / name);
  EXPECT_EQ(ResolveVariablesDir(Project::Open(dir_.path(), env2), env2, data.path() / "x").path,
            data.path() / "x");
}

TEST_F(ProjectTest, UnwritableVariablesDirFallsBackWithAWarning) {
  TempDir home;
  auto env = Environment::FromMap({{"HOME", home.path().string()}});
  dir_.Write("metadata.yaml", "variables_dir: /proc/kiln-cannot-write-here\n");
  VariablesDir v = ResolveVariablesDir(Project::Open(dir_.path(), env), env, std::nullopt);
  EXPECT_EQ(v.path, home.path() / ".kiln_data" / dir_.path().filename());
  ASSERT_TRUE(v.warning.has_value());
  EXPECT_THAT(*v.warning, HasSubstr("not writable"));
}

}  // namespace
}  // namespace kiln::project
