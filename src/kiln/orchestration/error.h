// orchestration/error.h: errors of the scheduling layer (cron, schedule intervals, backfills).
#pragma once

#include "kiln/common/error.h"

namespace kiln::orchestration {

//! A trigger schedule or a backfill cannot be evaluated. what() says what and where: the cron
//! text and field, the trigger's file:line, or the backfill's dates.
class OrchestrationError : public Error {
 public:
  using Error::Error;
};

//! A cron expression is malformed, uses syntax Kiln does not evaluate, or never fires.
//! what() is "cron '<text>': <field> field: <reason>" (or "cron '<text>': <reason>").
class CronError : public OrchestrationError {
 public:
  using OrchestrationError::OrchestrationError;
};

//! A backfill's date range, interval or size is invalid (spec 4.2).
class BackfillError : public OrchestrationError {
 public:
  using OrchestrationError::OrchestrationError;
};

}  // namespace kiln::orchestration
