// cli/signals.h: SIGINT/SIGTERM for long-running commands, handled by a thread that waits for
// them (sigwait), so that no signal handler touches program state.
#pragma once

#include <pthread.h>
#include <signal.h>

namespace kiln::cli {

//! Blocks SIGINT, SIGTERM and SIGUSR2 (internal: stop watching) in this thread and every thread
//! started after it; restores the old mask when destroyed. Create it first in a command.
class SignalMask {
 public:
  SignalMask() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGUSR2);  // internal: stop watching
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~SignalMask() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  const sigset_t& set() const { return set_; }

 private:
  sigset_t set_{}, old_{};
};

}  // namespace kiln::cli
