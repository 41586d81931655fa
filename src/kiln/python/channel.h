// python/channel.h: messages between the runner and a Python block's process (and between the
// runner and the kiln-python host): length-prefixed JSON over a connected Unix stream socket,
// each message carrying up to 8 file descriptors (SCM_RIGHTS), e.g. frames.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "kiln/common/error.h"
#include "kiln/python/unique_fd.h"

namespace kiln::python {

//! The peer went away mid-message, or a message was malformed. what() says which.
class ChannelError : public Error {
 public:
  using Error::Error;
};

struct Message {
  nlohmann::json body;
  std::vector<UniqueFd> fds;  //!< received descriptors, owned by the receiver
};

//! One end of a channel. Send and Receive may be used from two different threads at once;
//! two concurrent Sends (or Receives) are serialised.
class Channel {
 public:
  //! Takes `socket` (a connected AF_UNIX SOCK_STREAM socket).
  explicit Channel(UniqueFd socket);

  //! Sends `body` (serialised as JSON) and `fds` (at most 8; they stay open in the sender).
  //! Throws ChannelError when the peer is gone.
  void Send(const nlohmann::json& body, const std::vector<int>& fds = {});
  //! Blocks for the next message; nullopt when the peer closed the channel cleanly between
  //! messages. Throws ChannelError for a truncated or malformed message.
  std::optional<Message> Receive();
  //! As Receive, waiting at most `timeout`; nullopt on timeout as well (check closed()).
  std::optional<Message> ReceiveFor(std::chrono::milliseconds timeout);
  //! True once Receive has seen the end of the stream.
  bool closed() const;
  int fd() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

//! A connected pair of sockets (socketpair, close-on-exec set).
std::pair<UniqueFd, UniqueFd> SocketPair();

}  // namespace kiln::python
