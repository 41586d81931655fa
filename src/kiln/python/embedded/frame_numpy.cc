// Frames as pandas DataFrames, in the Python block process: reading. The frame's mapping is
// wrapped with numpy (np.frombuffer over a copy-on-write mmap: no copy, yet writable arrays);
// frame_numpy_encode.cc writes DataFrames into frames.
#include "kiln/python/embedded/frame_numpy.h"

#include <pybind11/numpy.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kiln/python/frame_layout.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace kiln::python {
namespace {

using layout::Kind;

//! Days since 1970-01-01 of datetime.date.min and .max.
constexpr int64_t kMinDateDays = -719162;
constexpr int64_t kMaxDateDays = 2932896;
//! Days that datetime64[ns] can hold.
constexpr int64_t kMinNsDays = -106751;
constexpr int64_t kMaxNsDays = 106750;

[[noreturn]] void ValueError(const std::string& column, const std::string& message) {
  throw py::value_error("frame: column \"" + column + "\": " + message);
}

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.starts_with(prefix);
}

//! Whether a column of `kind` may be turned into `dtype` (other dtypes leave the column as its
//! kind builds it: a stored dtype never reinterprets data).
bool Convertible(Kind kind, const std::string& d) {
  if (d == "object") return true;
  if (kind == Kind::kJson) return false;
  if (d == "category" || d == "string") return true;
  const bool numeric = StartsWith(d, "int") || StartsWith(d, "Int") || StartsWith(d, "uint") ||
                       StartsWith(d, "UInt") || StartsWith(d, "float") || StartsWith(d, "Float");
  switch (kind) {
    case Kind::kInt64:
      return numeric || d == "timedelta64[ns]";
    case Kind::kFloat64:
      return numeric;
    case Kind::kBool:
      return d == "bool" || d == "boolean";
    case Kind::kTimestamp:
      return StartsWith(d, "datetime64[ns");
    case Kind::kDate:
      return d == "datetime64[ns]";
    default:
      return false;
  }
}

//! Builds the arrays of one frame's columns over its mapping.
class ColumnReader {
 public:
  ColumnReader(py::object mapping, const uint8_t* file, uint64_t rows)
      : np_(py::module_::import("numpy")),
        pd_(py::module_::import("pandas")),
        mapping_(std::move(mapping)),
        file_(file),
        rows_(rows) {}

  //! The column as a numpy array or pandas extension array of its pandas_dtype.
  py::object Read(const layout::Column& c) {
    layout::CheckColumn(c, rows_, file_);
    const std::string& dtype = c.info.pandas_dtype;
    py::object mask =
        c.validity ? Buffer("u1", c.validity->offset).attr("__eq__")(0) : py::object(py::none());
    py::object natural;
    switch (c.kind) {
      case Kind::kInt64:
        natural = Int64(c, mask);
        break;
      case Kind::kFloat64:
        natural = Float64(c, mask);
        break;
      case Kind::kBool:
        natural = Bool(c, mask);
        break;
      case Kind::kTimestamp:
        natural = Timestamp(c, mask);
        break;
      case Kind::kDate:
        natural = Date(c, mask);
        break;
      case Kind::kString:
        natural = Strings(c);
        break;
      case Kind::kJson:
        natural = Json(c);
        break;
    }
    if (dtype.empty() || py::str(natural.attr("dtype")).cast<std::string>() == dtype ||
        !Convertible(c.kind, dtype)) {
      return natural;
    }
    return Convert(natural, dtype, mask);
  }

 private:
  py::object Buffer(const char* dtype, uint64_t offset) {
    if (rows_ == 0) return np_.attr("empty")(0, "dtype"_a = dtype);
    return np_.attr("frombuffer")(mapping_, "dtype"_a = dtype, "count"_a = rows_,
                                  "offset"_a = offset);
  }
  py::object NoMask() { return np_.attr("zeros")(rows_, "dtype"_a = "bool"); }
  py::object Masked(const char* type, py::object values, const py::object& mask) {
    return pd_.attr("arrays").attr(type)(values, mask.is_none() ? NoMask() : mask,
                                         "copy"_a = false);
  }
  //! `values` with `fill` where `mask` is true (a copy), or `values` itself without NULLs.
  py::object Filled(py::object values, const py::object& mask, py::object fill) {
    if (mask.is_none()) return values;
    return np_.attr("where")(mask, fill, values);
  }

  py::object Int64(const layout::Column& c, const py::object& mask) {
    py::object data = Buffer("<i8", c.data.offset);
    const std::string& d = c.info.pandas_dtype;
    if (d == "timedelta64[ns]") {
      return Filled(data.attr("view")("m8[ns]"), mask, np_.attr("timedelta64")("NaT", "ns"));
    }
    if (mask.is_none() && d != "Int64") return data;
    return Masked("IntegerArray", data, mask);
  }

  py::object Float64(const layout::Column& c, const py::object& mask) {
    py::object data = Buffer("<f8", c.data.offset);
    if (c.info.pandas_dtype == "Float64") return Masked("FloatingArray", data, mask);
    return Filled(data, mask, np_.attr("nan"));
  }

  py::object Bool(const layout::Column& c, const py::object& mask) {
    py::object data = Buffer("?", c.data.offset);
    if (mask.is_none() && c.info.pandas_dtype != "boolean") return data;
    return Masked("BooleanArray", data, mask);
  }

  py::object Timestamp(const layout::Column& c, const py::object& mask) {
    py::object data =
        Filled(Buffer("<M8[ns]", c.data.offset), mask, np_.attr("datetime64")("NaT", "ns"));
    if (c.info.tz.empty()) return data;
    py::object utc = pd_.attr("arrays").attr("DatetimeArray")(
        data, "dtype"_a = pd_.attr("DatetimeTZDtype")("ns", "UTC"), "copy"_a = false);
    if (c.info.tz == "UTC") return utc;
    try {
      return utc.attr("tz_convert")(c.info.tz);
    } catch (const py::error_already_set&) {
      return utc;  // a zone this Python does not know: the instants, in UTC
    }
  }

  py::object Date(const layout::Column& c, const py::object& mask) {
    py::object days = Buffer("<i4", c.data.offset);
    py::object known = Filled(days, mask, py::int_(0));
    const int64_t low = rows_ ? known.attr("min")().cast<int64_t>() : 0;
    const int64_t high = rows_ ? known.attr("max")().cast<int64_t>() : 0;
    py::object as_days = days.attr("astype")("M8[D]");
    if (c.info.pandas_dtype == "datetime64[ns]" && low >= kMinNsDays && high <= kMaxNsDays) {
      return Filled(as_days.attr("astype")("M8[ns]"), mask, np_.attr("datetime64")("NaT", "ns"));
    }
    if (low < kMinDateDays || high > kMaxDateDays) {
      ValueError(c.info.name, "a date outside Python's datetime.date range (years 1 to 9999)");
    }
    py::object dates = as_days.attr("astype")("O");
    if (!mask.is_none()) dates.attr("__setitem__")(mask, py::none());
    return dates;
  }

  //! An object array of `rows_` Nones, and its slots.
  py::array Objects(PyObject**& slots) {
    py::array a = np_.attr("empty")(rows_, "dtype"_a = "O");
    slots = static_cast<PyObject**>(a.mutable_data());
    return a;
  }
  static void Put(PyObject** slot, PyObject* value) {
    PyObject* old = *slot;
    *slot = value;
    Py_XDECREF(old);
  }

  py::object Strings(const layout::Column& c) {
    PyObject** slots = nullptr;
    py::array out = Objects(slots);
    const auto* offsets = reinterpret_cast<const int64_t*>(file_ + c.offsets->offset);
    const char* text = reinterpret_cast<const char*>(file_ + c.data.offset);
    const uint8_t* valid = c.validity ? file_ + c.validity->offset : nullptr;
    for (uint64_t r = 0; r < rows_; ++r) {
      if (valid != nullptr && valid[r] == 0) continue;
      PyObject* s = PyUnicode_DecodeUTF8(text + offsets[r], offsets[r + 1] - offsets[r], "strict");
      if (s == nullptr) throw py::error_already_set();
      Put(slots + r, s);
    }
    return out;
  }

  py::object Json(const layout::Column& c) {
    const auto* offsets = reinterpret_cast<const int64_t*>(file_ + c.offsets->offset);
    const char* text = reinterpret_cast<const char*>(file_ + c.data.offset);
    const uint8_t* valid = c.validity ? file_ + c.validity->offset : nullptr;
    std::string array = "[";  // one json.loads for the whole column
    array.reserve(c.data.bytes + rows_ * 5 + 2);
    for (uint64_t r = 0; r < rows_; ++r) {
      if (r > 0) array += ',';
      if (valid != nullptr && valid[r] == 0) {
        array += "null";
      } else {
        array.append(text + offsets[r], offsets[r + 1] - offsets[r]);
      }
    }
    array += ']';
    py::list values;
    try {
      values = py::module_::import("json").attr("loads")(py::str(array));
    } catch (const py::error_already_set& e) {
      ValueError(c.info.name, std::string("a value is not JSON: ") + e.what());
    }
    if (values.size() != rows_) ValueError(c.info.name, "a value is not one JSON document");
    PyObject** slots = nullptr;
    py::array out = Objects(slots);
    for (uint64_t r = 0; r < rows_; ++r) {
      py::object item = values[r];
      Put(slots + r, item.release().ptr());
    }
    return out;
  }

  //! `natural` as `dtype`; `natural` itself when pandas cannot convert it.
  py::object Convert(const py::object& natural, const std::string& dtype, const py::object& mask) {
    try {
      if (dtype == "object") {
        if (py::hasattr(natural, "_mask")) {  // masked arrays: NULL is None, not pd.NA
          return natural.attr("to_numpy")("dtype"_a = "O", "na_value"_a = py::none());
        }
        const std::string numpy_kind = py::isinstance<py::array>(natural)
                                           ? natural.attr("dtype").attr("kind").cast<std::string>()
                                           : "";
        if (numpy_kind == "i" || numpy_kind == "f" || numpy_kind == "b") {
          py::object objects = natural.attr("astype")("O");
          if (!mask.is_none()) objects.attr("__setitem__")(mask, py::none());
          return objects;
        }  // datetimes: Timestamp objects and NaT, as pandas makes them
      }
      if (IsIntegerDtype(dtype) && !FitsInteger(natural, dtype)) return natural;
      return pd_.attr("Series")(natural, "copy"_a = false).attr("astype")(dtype).attr("_values");
    } catch (const py::error_already_set&) {
      return natural;
    }
  }

  static bool IsIntegerDtype(const std::string& d) {
    return StartsWith(d, "int") || StartsWith(d, "Int") || StartsWith(d, "uint") ||
           StartsWith(d, "UInt");
  }
  //! Whether every value of `natural` (int64 or float64, plain or masked) is a whole number in
  //! the range of `dtype`: pandas 1.5 wraps or garbles the others without a word.
  bool FitsInteger(const py::object& natural, const std::string& dtype) {
    py::object values = natural;
    if (py::hasattr(natural, "_mask")) {
      values =
          natural.attr("_data").attr("__getitem__")(natural.attr("_mask").attr("__invert__")());
    } else if (natural.attr("dtype").attr("kind").cast<std::string>() == "f") {
      values = natural.attr("__getitem__")(np_.attr("isfinite")(natural));
      if (py::len(values) !=
          py::len(natural) -
              static_cast<size_t>(np_.attr("isnan")(natural).attr("sum")().cast<int64_t>())) {
        return false;  // infinities
      }
    }
    if (py::len(values) == 0) return true;
    std::string lower = dtype;  // np.iinfo knows "uint8", not "UInt8"
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    py::object info = np_.attr("iinfo")(lower);
    const double low = info.attr("min").cast<double>();
    const double high = info.attr("max").cast<double>() + 1.0;  // exclusive, exact as a double
    const double min = values.attr("min")().cast<double>();
    const double max = values.attr("max")().cast<double>();
    if (min < low || max >= high) return false;
    return values.attr("dtype").attr("kind").cast<std::string>() != "f" ||
           np_.attr("array_equal")(values, np_.attr("floor")(values)).cast<bool>();
  }

  py::module_ np_, pd_;
  py::object mapping_;
  const uint8_t* file_;
  uint64_t rows_;
};

py::object LevelName(const nlohmann::json& name) {
  if (name.is_string()) return py::str(name.get<std::string>());
  if (name.is_number_integer()) return py::int_(name.get<int64_t>());
  if (name.is_number()) return py::float_(name.get<double>());
  return py::none();
}

//! The index the header's "index" describes, built from (and taking) its columns.
py::object TakeIndex(const nlohmann::json& index, std::vector<std::string>& names,
                     std::vector<py::object>& arrays, uint64_t rows) {
  py::module_ pd = py::module_::import("pandas");
  if (index.is_null()) return pd.attr("RangeIndex")(rows);
  py::list levels, level_names;
  for (size_t i = 0; i < index["columns"].size(); ++i) {
    const auto at = std::find(names.begin(), names.end(), index["columns"][i].get<std::string>());
    const size_t c = static_cast<size_t>(at - names.begin());
    py::object level = arrays[c];
    // An Int64 level without NULLs becomes an int64 index, as pandas builds one.
    if (py::hasattr(level, "_mask") && !level.attr("_mask").attr("any")().cast<bool>() &&
        py::str(level.attr("dtype")).cast<std::string>() == "Int64") {
      level = level.attr("_data");
    }
    levels.append(level);
    level_names.append(LevelName(index["names"][i]));
    names.erase(at);
    arrays.erase(arrays.begin() + static_cast<std::ptrdiff_t>(c));
  }
  if (levels.size() == 1) return pd.attr("Index")(levels[0], "name"_a = level_names[0]);
  return pd.attr("MultiIndex").attr("from_arrays")(levels, "names"_a = level_names);
}

}  // namespace

py::object FrameToDataFrame(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) throw py::value_error("frame: not an open file descriptor");
  if (static_cast<uint64_t>(st.st_size) < layout::kPrefixBytes) {
    throw py::value_error("frame: not a Kiln frame (" + std::to_string(st.st_size) + " bytes)");
  }
  // Copy-on-write: arrays are writable (user code may assign into them) and the frame is not.
  py::module_ mmap = py::module_::import("mmap");
  py::object mapping =
      mmap.attr("mmap")(fd, st.st_size, "flags"_a = MAP_PRIVATE, "prot"_a = PROT_READ | PROT_WRITE);
  py::buffer_info view = py::buffer(mapping).request();
  const auto* file = static_cast<const uint8_t*>(view.ptr);
  layout::Layout frame;
  try {
    frame = layout::ParseFrame(file, static_cast<uint64_t>(view.size));
  } catch (const FrameError& e) {
    throw py::value_error(e.what());
  }
  ColumnReader reader(mapping, file, frame.rows);
  std::vector<std::string> names;
  std::vector<py::object> arrays;
  for (const layout::Column& c : frame.columns) {
    try {
      arrays.push_back(reader.Read(c));
    } catch (const FrameError& e) {
      throw py::value_error(e.what());
    }
    names.push_back(c.info.name);
  }
  py::object index = TakeIndex(frame.index, names, arrays, frame.rows);
  py::module_ pd = py::module_::import("pandas");
  py::list columns, values;
  for (const std::string& n : names) columns.append(py::str(n));
  for (const py::object& a : arrays) values.append(a);
  // One block per column, not consolidated: consolidating would copy every column.
  py::object manager =
      py::module_::import("pandas.core.internals.construction")
          .attr("arrays_to_mgr")(values, pd.attr("Index")(columns, "dtype"_a = "O"), index,
                                 "verify_integrity"_a = false, "typ"_a = "block",
                                 "consolidate"_a = false);
  return pd.attr("DataFrame")(manager);
}

}  // namespace kiln::python
