// The runner <-> child channel: JSON messages with file descriptors over a Unix socket.
#include "kiln/python/channel.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <thread>

namespace kiln::python {
namespace {

using namespace std::chrono_literals;

//! Reads what is in the pipe whose read end is `fd`.
std::string ReadAll(int fd) {
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

TEST(ChannelTest, MessageArrivesWithItsBody) {
  auto [a, b] = SocketPair();
  Channel left(std::move(a)), right(std::move(b));
  left.Send({{"op", "start"}, {"block", "load_api_data"}, {"inputs", {1, 2, 3}}});
  std::optional<Message> m = right.Receive();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->body["op"], "start");
  EXPECT_EQ(m->body["block"], "load_api_data");
  EXPECT_EQ(m->body["inputs"], nlohmann::json({1, 2, 3}));
  EXPECT_TRUE(m->fds.empty());
}

TEST(ChannelTest, FileDescriptorsCrossAndStayOpenInTheSender) {
  auto [a, b] = SocketPair();
  Channel left(std::move(a)), right(std::move(b));
  int p1[2], p2[2];
  ASSERT_EQ(::pipe(p1), 0);
  ASSERT_EQ(::pipe(p2), 0);
  left.Send({{"op", "output"}}, {p1[1], p2[1]});
  // The sender's copies are still usable.
  ASSERT_EQ(::write(p1[1], "x", 1), 1);
  ::close(p1[1]);
  ::close(p2[1]);

  std::optional<Message> m = right.Receive();
  ASSERT_TRUE(m);
  ASSERT_EQ(m->fds.size(), 2u);
  EXPECT_NE(::fcntl(m->fds[0].get(), F_GETFD) & FD_CLOEXEC, 0) << "received fds are CLOEXEC";
  ASSERT_EQ(::write(m->fds[0].get(), "first", 5), 5);
  ASSERT_EQ(::write(m->fds[1].get(), "second", 6), 6);
  m->fds.clear();  // closes the last write ends
  EXPECT_EQ(ReadAll(p1[0]), "xfirst");
  EXPECT_EQ(ReadAll(p2[0]), "second");
  ::close(p1[0]);
  ::close(p2[0]);
}

TEST(ChannelTest, EachMessageGetsItsOwnDescriptors) {
  auto [a, b] = SocketPair();
  Channel left(std::move(a)), right(std::move(b));
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  left.Send({{"n", 1}});
  left.Send({{"n", 2}}, {p[1]});
  left.Send({{"n", 3}});
  EXPECT_TRUE(right.Receive()->fds.empty());
  std::optional<Message> second = right.Receive();
  EXPECT_EQ(second->body["n"], 2);
  EXPECT_EQ(second->fds.size(), 1u);
  EXPECT_TRUE(right.Receive()->fds.empty());
  ::close(p[0]);
  ::close(p[1]);
}

TEST(ChannelTest, MoreThanEightDescriptorsAreRefused) {
  auto [a, b] = SocketPair();
  Channel left(std::move(a));
  std::vector<int> nine(9, 0);
  EXPECT_THROW(left.Send({{"op", "x"}}, nine), ChannelError);
}

TEST(ChannelTest, TenMegabyteMessageCrosses) {
  auto [a, b] = SocketPair();
  Channel left(std::move(a)), right(std::move(b));
  nlohmann::json rows = nlohmann::json::array();
  for (int i = 0; i < 200000; ++i)
    rows.push_back({{"id", i}, {"name", "row number " + std::to_string(i)}});
  nlohmann::json body = {{"op", "rows"}, {"rows", rows}};
  ASSERT_GT(body.dump().size(), 10u * 1000 * 1000 / 2);
  body["padding"] = std::string(5 * 1000 * 1000, 'p');
  ASSERT_GT(body.dump().size(), 10u * 1000 * 1000);
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  // The socket buffer is far smaller than the message: the reader runs concurrently.
  std::thread sender([&] { left.Send(body, {p[1]}); });
  std::optional<Message> m = right.Receive();
  sender.join();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->body, body);
  EXPECT_EQ(m->fds.size(), 1u);
  ::close(p[0]);
  ::close(p[1]);
}

TEST(ChannelTest, ConcurrentSendsFromTwoThreadsDoNotInterleave) {
  auto [a, b] = SocketPair();
  Channel left(std::move(a)), right(std::move(b));
  const std::string big(200 * 1000, 'z');  // larger than the socket buffer: sends are split
  auto send_many = [&](const std::string& who) {
    for (int i = 0; i < 50; ++i) left.Send({{"from", who}, {"i", i}, {"payload", big}});
  };
  std::thread t1(send_many, "one"), t2(send_many, "two");
  std::map<std::string, int> next = {{"one", 0}, {"two", 0}};
  for (int n = 0; n < 100; ++n) {
    std::optional<Message> m = right.Receive();
    ASSERT_TRUE(m);
    const std::string who = m->body["from"];
    EXPECT_EQ(m->body["i"], next[who]++) << "messages of one thread stay in order";
    EXPECT_EQ(m->body["payload"], big);
  }
  t1.join();
  t2.join();
  EXPECT_EQ(next["one"], 50);
  EXPECT_EQ(next["two"], 50);
}

TEST(ChannelTest, CleanCloseBetweenMessagesIsEndOfStream) {
  auto [a, b] = SocketPair();
  Channel right(std::move(b));
  {
    Channel left(std::move(a));
    left.Send({{"op", "last"}});
  }
  EXPECT_EQ(right.Receive()->body["op"], "last");
  EXPECT_FALSE(right.closed());
  EXPECT_FALSE(right.Receive());
  EXPECT_TRUE(right.closed());
  EXPECT_FALSE(right.Receive()) << "stays at end of stream";
}

TEST(ChannelTest, PeerClosingMidMessageIsAChannelError) {
  auto [a, b] = SocketPair();
  Channel right(std::move(b));
  // A length prefix announcing 100 bytes, then only 10 of them.
  const unsigned char header[4] = {100, 0, 0, 0};
  ASSERT_EQ(::write(a.get(), header, 4), 4);
  ASSERT_EQ(::write(a.get(), "{\"op\": \"tr", 10), 10);
  a.Reset();
  try {
    right.Receive();
    FAIL() << "expected a ChannelError";
  } catch (const ChannelError& e) {
    EXPECT_NE(std::string(e.what()).find("in the middle of a message"), std::string::npos)
        << e.what();
  }
}

TEST(ChannelTest, PeerClosingInsideTheLengthPrefixIsAChannelError) {
  auto [a, b] = SocketPair();
  Channel right(std::move(b));
  ASSERT_EQ(::write(a.get(), "\x05\x00", 2), 2);
  a.Reset();
  EXPECT_THROW(right.Receive(), ChannelError);
}

TEST(ChannelTest, MalformedJsonIsAChannelError) {
  auto [a, b] = SocketPair();
  Channel right(std::move(b));
  const unsigned char header[4] = {5, 0, 0, 0};
  ASSERT_EQ(::write(a.get(), header, 4), 4);
  ASSERT_EQ(::write(a.get(), "{nope", 5), 5);
  try {
    right.Receive();
    FAIL() << "expected a ChannelError";
  } catch (const ChannelError& e) {
    EXPECT_NE(std::string(e.what()).find("not JSON"), std::string::npos) << e.what();
  }
}

TEST(ChannelTest, SendToAClosedPeerIsAChannelError) {
  auto [a, b] = SocketPair();
  Channel left(std::move(a));
  b.Reset();
  EXPECT_THROW(left.Send({{"op", "x"}}), ChannelError);  // and no SIGPIPE kills the test
}

TEST(ChannelTest, ReceiveForTimesOutWithoutClosing) {
  auto [a, b] = SocketPair();
  Channel left(std::move(a)), right(std::move(b));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(right.ReceiveFor(50ms));
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 50ms);
  EXPECT_LT(waited, 2s);
  EXPECT_FALSE(right.closed());
  left.Send({{"op", "late"}});
  std::optional<Message> m = right.ReceiveFor(1s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->body["op"], "late");
}

TEST(ChannelTest, ReceiveForSeesEndOfStream) {
  auto [a, b] = SocketPair();
  Channel right(std::move(b));
  a.Reset();
  EXPECT_FALSE(right.ReceiveFor(1s));
  EXPECT_TRUE(right.closed());
}

TEST(ChannelTest, SocketPairIsCloseOnExec) {
  auto [a, b] = SocketPair();
  EXPECT_NE(::fcntl(a.get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_NE(::fcntl(b.get(), F_GETFD) & FD_CLOEXEC, 0);
}

}  // namespace
}  // namespace kiln::python
