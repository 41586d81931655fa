// blocks/cancel.h: stopping a running block from another thread (timeouts, cancelled runs).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace kiln::blocks {

//! Shared between a running block and whoever may stop it. The block registers how to
//! interrupt its current work (e.g. DuckDB's interrupt); Cancel() calls it. Thread-safe.
class CancelToken {
 public:
  //! Stops the block: records `reason` (e.g. "timed out after 30 s") and runs the registered
  //! interrupt, if any. Later calls keep the first reason but interrupt again (an interrupt that
  //! arrives between two statements is lost by DuckDB, so callers repeat it until the block ends).
  void Cancel(std::string reason);
  //! Runs the registered interrupt again when cancelled (see Cancel()).
  void Reinterrupt();
  bool cancelled() const;
  std::string reason() const;

  //! Registers `interrupt` while the guard lives (several may be registered at once, e.g. a
  //! database connection and a second one writing in parallel); runs it at once if already
  //! cancelled.
  class Registration {
   public:
    Registration(CancelToken& token, std::function<void()> interrupt);
    ~Registration();
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    CancelToken& token_;
    uint64_t id_;
  };

  //! Sleeps for `duration` or until Cancel(); returns false when cancelled.
  bool SleepFor(std::chrono::milliseconds duration);

 private:
  mutable std::mutex mu_;  // guards cancelled_ and reason_
  std::condition_variable cv_;
  bool cancelled_ = false;
  std::string reason_;
  // Held while interrupts run or change, so a Registration never ends mid-interrupt.
  std::mutex interrupt_mu_;
  std::map<uint64_t, std::function<void()>> interrupts_;
  uint64_t next_id_ = 0;
};

}  // namespace kiln::blocks
