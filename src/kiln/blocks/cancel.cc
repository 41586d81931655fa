#include "kiln/blocks/cancel.h"

namespace kiln::blocks {

void CancelToken::Cancel(std::string reason) {
  {
    std::lock_guard lock(mu_);
    if (!cancelled_) {
      cancelled_ = true;
      reason_ = std::move(reason);
    }
  }
  cv_.notify_all();
  Reinterrupt();
}

void CancelToken::Reinterrupt() {
  if (!cancelled()) return;
  std::lock_guard lock(interrupt_mu_);
  for (auto& [id, interrupt] : interrupts_) interrupt();
}

bool CancelToken::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

std::string CancelToken::reason() const {
  std::lock_guard lock(mu_);
  return reason_;
}

CancelToken::Registration::Registration(CancelToken& token, std::function<void()> interrupt)
    : token_(token) {
  std::lock_guard lock(token_.interrupt_mu_);
  id_ = token_.next_id_++;
  auto& slot = token_.interrupts_[id_] = std::move(interrupt);
  if (token_.cancelled() && slot) slot();
}

CancelToken::Registration::~Registration() {
  std::lock_guard lock(token_.interrupt_mu_);
  token_.interrupts_.erase(id_);
}

bool CancelToken::SleepFor(std::chrono::milliseconds duration) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, duration, [this] { return cancelled_; });
}

}  // namespace kiln::blocks
