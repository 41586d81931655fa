#include "kiln/server/api_json.h"

namespace kiln::server {
namespace {

using nlohmann::json;

json Optional(const std::optional<int64_t>& v) {
  return v ? json(*v) : json(nullptr);
}
json NullIfEmpty(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

}  // namespace

json TimeJson(const std::optional<DateTime>& t) {
  return t ? json(t->ToString()) : json(nullptr);
}

json ScheduleJson(const store::PipelineSchedule& s, const json& extra) {
  json j = {{"id", s.id},
            {"created_at", TimeJson(s.created_at)},
            {"updated_at", TimeJson(s.updated_at)},
            {"name", s.name},
            {"description", NullIfEmpty(s.description)},
            {"pipeline_uuid", s.pipeline_uuid},
            {"schedule_type", NullIfEmpty(s.schedule_type)},
            {"start_time", TimeJson(s.start_time)},
            {"schedule_interval", NullIfEmpty(s.schedule_interval)},
            {"status", s.status},
            {"last_enabled_at", TimeJson(s.last_enabled_at)},
            {"variables", s.variables},
            {"sla", Optional(s.sla_seconds)},
            {"token", s.token},
            {"repo_path", NullIfEmpty(s.repo_path)},
            {"settings", s.settings},
            {"global_data_product_uuid", nullptr}};
  j.update(extra);
  return j;
}

json RunJson(const store::PipelineRun& r) {
  return {{"id", r.id},
          {"created_at", TimeJson(r.created_at)},
          {"updated_at", TimeJson(r.updated_at)},
          {"pipeline_schedule_id", Optional(r.pipeline_schedule_id)},
          {"pipeline_uuid", r.pipeline_uuid},
          {"execution_date", TimeJson(r.execution_date)},
          {"status", r.status},
          {"started_at", TimeJson(r.started_at)},
          {"completed_at", TimeJson(r.completed_at)},
          {"variables", r.variables},
          {"passed_sla", r.passed_sla},
          {"event_variables", r.event_variables},
          {"metrics", r.metrics.empty() ? json(nullptr) : r.metrics},
          {"backfill_id", Optional(r.backfill_id)},
          {"executor_type", r.executor_type}};
}

json BlockRunJson(const store::BlockRun& b, const store::PipelineRun& run,
                  const std::string& schedule_name) {
  return {{"block_uuid", b.block_uuid},
          {"completed_at", TimeJson(b.completed_at)},
          {"created_at", TimeJson(b.created_at)},
          {"id", b.id},
          {"metrics", b.metrics.empty() ? json(nullptr) : b.metrics},
          {"pipeline_run_id", b.pipeline_run_id},
          {"pipeline_schedule_id", Optional(run.pipeline_schedule_id)},
          {"pipeline_schedule_name", NullIfEmpty(schedule_name)},
          {"started_at", TimeJson(b.started_at)},
          {"status", b.status},
          {"updated_at", TimeJson(b.updated_at)}};
}

json BackfillJson(const store::Backfill& b, const json& extra) {
  json j = {{"id", b.id},
            {"created_at", TimeJson(b.created_at)},
            {"updated_at", TimeJson(b.updated_at)},
            {"name", b.name},
            {"pipeline_uuid", b.pipeline_uuid},
            {"pipeline_schedule_id", Optional(b.pipeline_schedule_id)},
            {"block_uuid", NullIfEmpty(b.block_uuid)},
            {"start_datetime", TimeJson(b.start_datetime)},
            {"end_datetime", TimeJson(b.end_datetime)},
            {"interval_type", NullIfEmpty(b.interval_type)},
            {"interval_units", b.interval_units},
            {"variables", b.variables},
            {"settings", b.settings},
            {"status", NullIfEmpty(b.status)},
            {"started_at", TimeJson(b.started_at)},
            {"completed_at", TimeJson(b.completed_at)},
            {"failed_at", TimeJson(b.failed_at)},
            {"metrics", nullptr}};
  j.update(extra);
  return j;
}

json PipelineJson(const project::Pipeline& p) {
  json blocks = json::array();
  for (const project::BlockSpec& b : p.blocks()) {
    blocks.push_back({{"uuid", b.uuid},
                      {"name", b.name},
                      {"type", project::BlockTypeName(b.type)},
                      {"language", project::BlockLanguageName(b.language)},
                      {"upstream_blocks", b.upstream_blocks},
                      {"downstream_blocks", b.downstream_blocks},
                      {"configuration", b.configuration},
                      {"file_path", b.file_path.string()}});
  }
  const json& raw = p.raw();
  return {{"uuid", p.uuid()},
          {"name", p.name()},
          {"type", p.type()},
          {"description", NullIfEmpty(p.description())},
          {"variables", p.variables().is_null() ? json::object() : p.variables()},
          {"concurrency_config", raw.value("concurrency_config", json::object())},
          {"blocks", blocks}};
}

json ErrorJson(int code, const std::string& type, const std::string& message) {
  return {{"error", {{"code", code}, {"type", type}, {"message", message}, {"errors", {message}}}}};
}

}  // namespace kiln::server
