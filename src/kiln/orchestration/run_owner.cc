#include "kiln/orchestration/run_owner.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "kiln/orchestration/stored_run.h"

namespace kiln::orchestration {
namespace {

std::string HostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

//! Field 22 of /proc/<pid>/stat (start time, clock ticks since boot); "" when no such process.
std::string StartTime(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return "";
  const size_t end_of_name = stat.rfind(')');  // the command name may hold spaces
  if (end_of_name == std::string::npos) return "";
  std::istringstream fields(stat.substr(end_of_name + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 22) return field;
  }
  return "";
}

}  // namespace

std::string ThisProcessOwner() {
  const std::string pid = std::to_string(::getpid());
  return HostName() + "/" + pid + "/" + StartTime(pid);
}

std::vector<store::PipelineRun> OrphanedRuns(store::MetadataStore& store, DateTime now) {
  const std::string host = HostName();
  const int64_t stale_before = now.utc_micros() - int64_t{kStaleAfter.count()} * 1'000'000;
  std::vector<store::PipelineRun> orphaned;
  for (store::PipelineRun& run : store.RunningRuns()) {
    const size_t first = run.owner.find('/');
    const size_t second = run.owner.rfind('/');
    if (first != std::string::npos && second > first && run.owner.substr(0, first) == host) {
      const std::string pid = run.owner.substr(first + 1, second - first - 1);
      if (StartTime(pid) != run.owner.substr(second + 1)) orphaned.push_back(std::move(run));
      continue;  // a live process of this host: its own business
    }
    if (!run.heartbeat_at || run.heartbeat_at->utc_micros() < stale_before)
      orphaned.push_back(std::move(run));
  }
  return orphaned;
}

}  // namespace kiln::orchestration
