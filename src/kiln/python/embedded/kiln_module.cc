// python/embedded/kiln_module.cc: the builtin module `_kiln`, what a block's process uses to
// talk to the runner (kiln_runtime and mage_ai are written over it).
//
//   _kiln.Channel(fd)            takes ownership of a connected Unix socket (python/channel.h)
//     .send(body, fds=[])        body: a dict (any JSON-able value); fds: at most 8, kept open
//     .receive(timeout_ms=None)  -> (dict, [fd, ...]) or None at end of stream or on timeout;
//                                   the received fds belong to the caller (see close_fd)
//     .close(), .fileno(), .closed
//   _kiln.ChannelError           (a ConnectionError) the runner went away mid-message
//   _kiln.close_fd(fd)
//   _kiln.frame_to_dataframe(fd) -> pandas.DataFrame     (embedded/frame_numpy.h)
//   _kiln.dataframe_to_frame(df) -> fd
//
// Values become JSON as json.dumps(default=str) would make them, except that numpy scalars and
// arrays (anything with .dtype and .tolist()) become their Python values, and NaN/inf null.
#include <pybind11/embed.h>
#include <pybind11/stl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "kiln/python/channel.h"
#include "kiln/python/embedded/frame_numpy.h"

namespace kiln::python {

//! Referenced by host_main.cc (and tests that import _kiln) so that the linker keeps this file,
//! and with it the module's registration, out of the static library kiln_embedded.
int KilnModuleAnchor() {
  return 0;
}

namespace {

namespace py = pybind11;

constexpr int kMaxDepth = 200;

nlohmann::json ToJson(py::handle value, int depth);

std::string Utf8(py::handle text) {
  Py_ssize_t size = 0;
  if (const char* data = PyUnicode_AsUTF8AndSize(text.ptr(), &size)) return {data, size_t(size)};
  PyErr_Clear();  // lone surrogates: encode them visibly instead of failing the message
  return py::reinterpret_borrow<py::str>(text)
      .attr("encode")("utf-8", "backslashreplace")
      .cast<std::string>();
}

std::string KeyText(py::handle key) {
  if (PyUnicode_Check(key.ptr())) return Utf8(key);
  if (key.is_none()) return "null";
  if (PyBool_Check(key.ptr())) return key.ptr() == Py_True ? "true" : "false";
  return Utf8(py::str(key));
}

nlohmann::json IntegerToJson(py::handle value) {
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
  if (overflow == 0) {
    if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
    return v;
  }
  if (overflow > 0) {
    const unsigned long long u = PyLong_AsUnsignedLongLong(value.ptr());
    if (!PyErr_Occurred()) return u;
    PyErr_Clear();
  }
  return Utf8(py::str(value));  // beyond 64 bits: its digits, as text
}

nlohmann::json ToJson(py::handle value, int depth) {
  if (depth > kMaxDepth) throw py::value_error("_kiln: value nested too deeply (or circular)");
  PyObject* p = value.ptr();
  if (value.is_none()) return nullptr;
  if (PyBool_Check(p)) return p == Py_True;
  if (PyLong_Check(p)) return IntegerToJson(value);
  if (PyFloat_Check(p)) return PyFloat_AS_DOUBLE(p);
  if (PyUnicode_Check(p)) return Utf8(value);
  if (PyDict_Check(p)) {
    nlohmann::json out = nlohmann::json::object();
    for (auto [k, v] : py::reinterpret_borrow<py::dict>(value))
      out[KeyText(k)] = ToJson(v, depth + 1);
    return out;
  }
  if (PyList_Check(p) || PyTuple_Check(p)) {
    nlohmann::json out = nlohmann::json::array();
    for (py::handle item : value) out.push_back(ToJson(item, depth + 1));
    return out;
  }
  if (py::hasattr(value, "dtype") && py::hasattr(value, "tolist")) {
    return ToJson(value.attr("tolist")(), depth + 1);  // numpy scalars and arrays
  }
  return Utf8(py::str(value));
}

py::object FromJson(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return py::none();
    case nlohmann::json::value_t::boolean:
      return py::bool_(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return py::int_(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return py::int_(j.get<uint64_t>());
    case nlohmann::json::value_t::number_float:
      return py::float_(j.get<double>());
    case nlohmann::json::value_t::string:
      return py::str(j.get_ref<const std::string&>());
    case nlohmann::json::value_t::array: {
      py::list out(j.size());
      for (size_t i = 0; i < j.size(); ++i) out[i] = FromJson(j[i]);
      return out;
    }
    case nlohmann::json::value_t::object: {
      py::dict out;
      for (const auto& [k, v] : j.items()) out[py::str(k)] = FromJson(v);
      return out;
    }
    default:
      return py::none();
  }
}

//! _kiln.Channel. close() drops this object's reference; a send or receive in progress in
//! another thread keeps the socket open until it returns.
class PyChannel {
 public:
  explicit PyChannel(int fd) : channel_(std::make_shared<Channel>(UniqueFd(fd))) {}

  void Send(py::handle body, const std::vector<int>& fds) {
    std::shared_ptr<Channel> channel = Open();
    nlohmann::json json = ToJson(body, 0);
    py::gil_scoped_release release;
    channel->Send(json, fds);
  }

  py::object Receive(std::optional<int64_t> timeout_ms) {
    std::shared_ptr<Channel> channel = Open();
    std::optional<Message> message;
    {
      py::gil_scoped_release release;
      message = timeout_ms ? channel->ReceiveFor(std::chrono::milliseconds(*timeout_ms))
                           : channel->Receive();
    }
    if (!message) return py::none();
    py::list fds;
    for (UniqueFd& fd : message->fds) fds.append(fd.Release());
    return py::make_tuple(FromJson(message->body), fds);
  }

  void Close() { channel_.reset(); }
  int Fileno() { return Open()->fd(); }
  bool Closed() const { return !channel_ || channel_->closed(); }

 private:
  std::shared_ptr<Channel> Open() {
    if (!channel_) throw py::value_error("_kiln.Channel: the channel is closed");
    return channel_;
  }

  std::shared_ptr<Channel> channel_;
};

void CloseFd(int fd) {
  if (::close(fd) != 0 && errno != EINTR) {
    PyErr_SetFromErrno(PyExc_OSError);
    throw py::error_already_set();
  }
}

}  // namespace
}  // namespace kiln::python

PYBIND11_EMBEDDED_MODULE(_kiln, m) {
  namespace py = pybind11;
  using namespace kiln::python;
  using namespace pybind11::literals;
  m.doc() = "Kiln's builtin module: the channel to the runner and DataFrame frames.";
  py::register_exception<ChannelError>(m, "ChannelError", PyExc_ConnectionError);
  py::class_<PyChannel>(m, "Channel")
      .def(py::init<int>(), "fd"_a, "Takes ownership of a connected Unix socket.")
      .def("send", &PyChannel::Send, "body"_a, "fds"_a = std::vector<int>{},
           "Sends body (as JSON) and up to 8 file descriptors (they stay open here).")
      .def("receive", &PyChannel::Receive, "timeout_ms"_a = py::none(),
           "(body, fds) of the next message; None at end of stream or after timeout_ms.")
      .def("close", &PyChannel::Close)
      .def("fileno", &PyChannel::Fileno)
      .def_property_readonly("closed", &PyChannel::Closed);
  m.def("close_fd", &CloseFd, "fd"_a, "Closes a file descriptor received from the channel.");
  m.def(
      "frame_to_dataframe", [](int fd) { return FrameToDataFrame(fd); }, "fd"_a,
      "The pandas.DataFrame held by the frame in fd (the fd stays open).");
  m.def(
      "dataframe_to_frame", [](py::handle df) { return DataFrameToFrame(df); }, "df"_a,
      "Writes df into a new frame and returns its fd (the caller closes it).");
}
