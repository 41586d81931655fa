#include "kiln/blocks/sql/template_context.h"

#include <filesystem>

#include "kiln/template/env_functions.h"

namespace kiln::blocks::sql {

using templating::CallArgs;
using templating::Value;

namespace {

// The first positional argument, or the keyword `name`, as a string; throws when absent.
std::string StringArg(const CallArgs& args, const char* function, const char* name) {
  const Value* v = nullptr;
  if (!args.positional.empty()) v = &args.positional[0];
  for (const auto& [k, value] : args.keyword)
    if (k == name) v = &value;
  if (v == nullptr || !v->IsString()) {
    throw templating::TemplateError(std::string(function) + "() needs the " + name +
                                    " as a string");
  }
  return v->AsString();
}

}  // namespace

templating::Context BuildSqlContext(const BlockInvocation& inv,
                                    const std::vector<std::string>& df_relations) {
  templating::Context ctx;
  for (const auto& [key, value] : inv.vars.values.items()) ctx.Set(key, Value::FromJson(value));
  if (inv.vars.execution_date) {
    const DateTime& d = *inv.vars.execution_date;
    ctx.Set("execution_date", Value(d));
    ctx.Set("ds", Value(d.Strftime("%Y-%m-%d")));
    ctx.Set("hr", Value(d.Strftime("%H")));
  }
  ctx.Set("env", Value(inv.vars.env));
  if (!inv.vars.execution_partition.empty())
    ctx.Set("execution_partition", Value(inv.vars.execution_partition));
  if (inv.vars.pipeline_run_id) ctx.Set("pipeline_run_id", Value(*inv.vars.pipeline_run_id));
  ctx.Set("pipeline_uuid", Value(inv.pipeline.uuid()));
  ctx.Set("block_uuid", Value(inv.block.uuid));
  ctx.Set("repo_path", Value(inv.project.root().string()));
  ctx.Set("configuration", Value::FromJson(inv.block.configuration));
  ctx.Set("context", Value(templating::Dict{}));

  for (size_t i = 0; i < inv.upstream.size(); ++i) {
    const UpstreamData& up = inv.upstream[i];
    std::string name = "df_" + std::to_string(i + 1);
    if (i >= df_relations.size() || df_relations[i].empty()) {
      ctx.Set(name, Value::Undefined(name + " is undefined: upstream block '" + up.block_uuid +
                                     "' stored no output"));
    } else {
      ctx.Set(name, Value(df_relations[i]));
    }
  }

  const nlohmann::json values = inv.vars.values;
  ctx.Set("variables", Value(templating::Function([values](const CallArgs& args) -> Value {
            std::string name = StringArg(args, "variables", "name");
            if (!values.contains(name)) {
              if (args.positional.size() > 1) return args.positional[1];
              return Value::Undefined("variable '" + name + "' is not set");
            }
            return Value::FromJson(values[name]);
          })));
  auto lookup = inv.block_output;
  ctx.Set("block_output", Value(templating::Function([lookup](const CallArgs& args) -> Value {
            std::string uuid = StringArg(args, "block_output", "block_uuid");
            std::string why = "no such block";
            auto output = lookup ? lookup(uuid, why) : std::nullopt;
            if (!output) return Value::Undefined("block_output('" + uuid + "'): " + why);
            return Value(output->RelationSql());
          })));
  templating::AddEnvironmentFunctions(ctx, inv.env);
  return ctx;
}

std::string BlockSourceName(const BlockInvocation& inv) {
  std::filesystem::path origin =
      inv.block.content ? inv.pipeline.metadata_path() : inv.block.file_path;
  std::string name = origin.lexically_relative(inv.project.root()).string();
  if (name.empty() || name.starts_with("..")) name = origin.string();
  if (inv.block.content) name += " (content of block '" + inv.block.uuid + "')";
  return name;
}

std::string RenderBlockSql(const BlockInvocation& inv, const std::string& code,
                           const std::vector<std::string>& df_relations) {
  try {
    return templating::Render(code, BuildSqlContext(inv, df_relations), BlockSourceName(inv));
  } catch (const templating::TemplateError& e) {
    throw BlockError(e.what());
  }
}

}  // namespace kiln::blocks::sql
