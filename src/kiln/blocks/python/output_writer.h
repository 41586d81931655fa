// blocks/python/output_writer.h: stores block outputs in the background.
// A Python block's DataFrame arrives as a frame; writing it as Parquet (§7.3) takes about as long
// as the next block's work, so it happens on this writer's thread while downstream blocks run.
// Each job's future becomes the output's StoredOutput::written; the run waits for all of them
// before it ends, and anything reading the files waits for its own.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace kiln::blocks {

class OutputWriter {
 public:
  OutputWriter();
  //! Finishes the queued jobs, then stops.
  ~OutputWriter();
  OutputWriter(const OutputWriter&) = delete;
  OutputWriter& operator=(const OutputWriter&) = delete;

  //! Queues `job`; jobs run one at a time, in order. The future is ready when it has run, and
  //! holds its exception when it threw.
  std::shared_future<void> Submit(std::function<void()> job);
  //! Waits until every job submitted so far has run.
  void Drain();

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<void()>> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace kiln::blocks
