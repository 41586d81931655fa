// python/channel.cc: length-prefixed JSON messages with SCM_RIGHTS descriptors over a Unix
// stream socket.
//
// Wire format of one message: a 4-byte little-endian body length, then the body (UTF-8 JSON).
// The descriptors ride on the sendmsg() that carries the first byte of the length, so the
// receiver gets them with the recvmsg() that reads the length. The receiver never reads past
// the end of the current message: the kernel attaches descriptors to the bytes they were sent
// with, and a read that spanned two messages would hand over the next message's descriptors
// early.
#include "kiln/python/channel.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>

namespace kiln::python {
namespace {

constexpr size_t kMaxFds = 8;
constexpr uint32_t kMaxBodyBytes = 1u << 30;  // 1 GiB: larger data goes through frames
constexpr size_t kHeaderBytes = 4;

std::string ErrnoText(int err) {
  return std::strerror(err);
}

//! Appends the descriptors carried by `msg`'s control data to `fds`.
void TakeDescriptors(msghdr& msg, std::vector<UniqueFd>& fds) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds.emplace_back(fd);
    }
  }
}

}  // namespace

struct Channel::State {
  UniqueFd socket;
  std::mutex send_mutex;
  std::atomic<bool> closed{false};

  // One receiver at a time. A flag under a condition variable rather than a timed_mutex:
  // ReceiveFor gives up at its deadline (and ThreadSanitizer does not model timed mutexes).
  std::mutex receive_mutex;
  std::condition_variable receive_done;
  bool receiving = false;

  //! Waits until no other thread receives (at most until `deadline`); true when it is our turn.
  bool TakeReceiveTurn(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(receive_mutex);
    auto free = [&] { return !receiving; };
    if (deadline == std::chrono::steady_clock::time_point::max()) {
      receive_done.wait(lock, free);
    } else if (!receive_done.wait_until(lock, deadline, free)) {
      return false;
    }
    receiving = true;
    return true;
  }
  void EndReceiveTurn() {
    {
      std::lock_guard lock(receive_mutex);
      receiving = false;
    }
    receive_done.notify_one();
  }
  //! Holds the receive turn for one scope.
  class ReceiveTurn {
   public:
    explicit ReceiveTurn(State& state) : state_(state) {}
    ~ReceiveTurn() {
      if (held_) state_.EndReceiveTurn();
    }
    bool Take(std::chrono::steady_clock::time_point deadline) {
      return held_ = state_.TakeReceiveTurn(deadline);
    }

   private:
    State& state_;
    bool held_ = false;
  };

  //! Reads exactly `size` bytes into `data`, collecting descriptors. Returns false when the
  //! stream ended (or the peer reset it) before the first byte; throws ChannelError when it
  //! ends after some bytes, or when `first_part` is false (the message was already started).
  bool ReadExactly(char* data, size_t size, std::vector<UniqueFd>& fds, bool first_part);
  //! The message whose first byte is readable now (or soon); nullopt at a clean end.
  std::optional<Message> ReadMessage();
};

bool Channel::State::ReadExactly(char* data, size_t size, std::vector<UniqueFd>& fds,
                                 bool first_part) {
  size_t done = 0;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  while (done < size) {
    iovec iov{data + done, size - done};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(socket.get(), &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    // A peer that exits with unread data in its queue resets the stream (ECONNRESET).
    const bool ended = n == 0 || (n < 0 && errno == ECONNRESET);
    if (n < 0 && !ended) throw ChannelError("channel: recvmsg failed: " + ErrnoText(errno));
    if (n > 0) TakeDescriptors(msg, fds);
    if (msg.msg_flags & MSG_CTRUNC) {
      throw ChannelError("channel: a message carried more than 8 file descriptors");
    }
    if (ended) {
      closed = true;
      if (first_part && done == 0) return false;
      throw ChannelError("channel: the peer closed the channel in the middle of a message");
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

std::optional<Message> Channel::State::ReadMessage() {
  Message message;
  unsigned char header[kHeaderBytes];
  if (!ReadExactly(reinterpret_cast<char*>(header), sizeof header, message.fds, true)) {
    return std::nullopt;
  }
  const uint32_t length = uint32_t{header[0]} | uint32_t{header[1]} << 8 |
                          uint32_t{header[2]} << 16 | uint32_t{header[3]} << 24;
  if (length > kMaxBodyBytes) {
    throw ChannelError("channel: malformed message (length " + std::to_string(length) + ")");
  }
  std::string body(length, '\0');
  ReadExactly(body.data(), body.size(), message.fds, false);
  message.body = nlohmann::json::parse(body, nullptr, false);
  if (message.body.is_discarded()) {
    throw ChannelError("channel: malformed message (not JSON): " + body.substr(0, 80));
  }
  return message;
}

Channel::Channel(UniqueFd socket) : state_(std::make_shared<State>()) {
  state_->socket = std::move(socket);
}

void Channel::Send(const nlohmann::json& body, const std::vector<int>& fds) {
  if (fds.size() > kMaxFds) {
    throw ChannelError("channel: cannot send " + std::to_string(fds.size()) +
                       " file descriptors in one message (at most 8)");
  }
  const std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > kMaxBodyBytes) {
    throw ChannelError("channel: message of " + std::to_string(text.size()) +
                       " bytes is too large (at most 1 GiB)");
  }
  const auto length = static_cast<uint32_t>(text.size());
  unsigned char header[kHeaderBytes] = {
      static_cast<unsigned char>(length), static_cast<unsigned char>(length >> 8),
      static_cast<unsigned char>(length >> 16), static_cast<unsigned char>(length >> 24)};

  std::lock_guard lock(state_->send_mutex);
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  iovec iov[2] = {{header, sizeof header}, {const_cast<char*>(text.data()), text.size()}};
  size_t sent = 0;
  const size_t total = sizeof header + text.size();
  bool first = true;
  while (sent < total) {
    // Skip what was sent already: the header first, then the body.
    iovec parts[2];
    int count = 0;
    for (size_t i = 0, offset = 0; i < 2; offset += iov[i].iov_len, ++i) {
      if (sent >= offset + iov[i].iov_len) continue;
      const size_t skip = sent > offset ? sent - offset : 0;
      parts[count++] = {static_cast<char*>(iov[i].iov_base) + skip, iov[i].iov_len - skip};
    }
    msghdr msg{};
    msg.msg_iov = parts;
    msg.msg_iovlen = static_cast<size_t>(count);
    if (first && !fds.empty()) {
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    ssize_t n = ::sendmsg(state_->socket.get(), &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE || errno == ECONNRESET) {
        throw ChannelError("channel: the peer closed the channel");
      }
      throw ChannelError("channel: sendmsg failed: " + ErrnoText(errno));
    }
    first = false;
    sent += static_cast<size_t>(n);
  }
}

std::optional<Message> Channel::Receive() {
  State::ReceiveTurn turn(*state_);
  turn.Take(std::chrono::steady_clock::time_point::max());
  if (state_->closed) return std::nullopt;
  return state_->ReadMessage();
}

std::optional<Message> Channel::ReceiveFor(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  State::ReceiveTurn turn(*state_);
  if (!turn.Take(deadline)) return std::nullopt;
  if (state_->closed) return std::nullopt;
  // Wait for the first byte only: a started message is read to its end (peers write whole
  // messages), so a timeout never leaves half a message behind.
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{state_->socket.get(), POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw ChannelError("channel: poll failed: " + ErrnoText(errno));
    if (ready == 0) return std::nullopt;
    return state_->ReadMessage();
  }
}

bool Channel::closed() const {
  return state_->closed;
}

int Channel::fd() const {
  return state_->socket.get();
}

std::pair<UniqueFd, UniqueFd> SocketPair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throw ChannelError("channel: socketpair failed: " + ErrnoText(errno));
  }
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace kiln::python
