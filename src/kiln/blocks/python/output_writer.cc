#include "kiln/blocks/python/output_writer.h"

namespace kiln::blocks {

OutputWriter::OutputWriter() : thread_([this] { Loop(); }) {}

OutputWriter::~OutputWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::shared_future<void> OutputWriter::Submit(std::function<void()> job) {
  std::packaged_task<void()> task(std::move(job));
  std::shared_future<void> done = task.get_future().share();
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_all();
  return done;
}

void OutputWriter::Drain() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

void OutputWriter::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to write
    std::packaged_task<void()> task = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    task();  // an exception is stored in the task's future
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace kiln::blocks
