// server/api_json.h: Kiln's records in the JSON shapes of Mage's REST API
// (mage-orchestration.md §5.1, §5.3): the same keys, datetimes as Python's str(datetime)
// ("2021-01-01 00:00:00+00:00"), enum values lower-case.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "kiln/project/pipeline.h"
#include "kiln/store/records.h"

namespace kiln::server {

//! A datetime as Mage's API writes it, or null.
nlohmann::json TimeJson(const std::optional<DateTime>& t);

//! pipeline_schedule (§1.1 columns); `extra` (computed attributes) is merged in.
nlohmann::json ScheduleJson(const store::PipelineSchedule& s,
                            const nlohmann::json& extra = nlohmann::json::object());
//! pipeline_run (§3.1 columns).
nlohmann::json RunJson(const store::PipelineRun& r);
//! block_run (§5.3: with pipeline_schedule_id and pipeline_schedule_name of its run).
nlohmann::json BlockRunJson(const store::BlockRun& b, const store::PipelineRun& run,
                            const std::string& schedule_name);
//! backfill (§4.1 fields); `extra` (e.g. total_run_count) is merged in.
nlohmann::json BackfillJson(const store::Backfill& b,
                            const nlohmann::json& extra = nlohmann::json::object());
//! pipeline detail / list item: uuid, name, type, description, variables, blocks (uuid, name,
//! type, language, upstream_blocks, downstream_blocks, configuration, file_path),
//! concurrency_config.
nlohmann::json PipelineJson(const project::Pipeline& p);

//! Mage's error body (§5.1): {"error": {"code", "message", "type", "errors"}}.
nlohmann::json ErrorJson(int code, const std::string& type, const std::string& message);

}  // namespace kiln::server
