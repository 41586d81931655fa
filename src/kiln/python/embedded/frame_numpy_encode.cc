// Frames as pandas DataFrames, in the Python block process: writing. numpy buffers go into the
// memfd with pwrite as they are; only object columns are looped over in C++, value by value.
#include <pybind11/numpy.h>

#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kiln/python/embedded/frame_numpy.h"
#include "kiln/python/frame_layout.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace kiln::python {
namespace {

using layout::Kind;

//! One column of a DataFrame, ready to be written: its plan and where its bytes are.
struct EncodedColumn {
  layout::ColumnPlan plan;
  py::object owner;               //!< the numpy array holding `data`
  const void* data = nullptr;     //!< fixed-width kinds: rows * width bytes, written as they are
  std::vector<uint8_t> validity;  //!< empty when the column has no NULL
  std::vector<std::pair<const char*, Py_ssize_t>> texts;  //!< string and json: UTF-8 per row
  std::vector<py::object> made;  //!< str objects made for `texts` (str(value), json.dumps)
};

//! NaN and infinities (which JSON has not) as None, through lists, tuples and dicts.
py::object WithoutNan(py::handle value) {
  if (PyFloat_Check(value.ptr())) {
    const double v = PyFloat_AS_DOUBLE(value.ptr());
    return v - v == 0 ? py::reinterpret_borrow<py::object>(value) : py::object(py::none());
  }
  if (PyDict_Check(value.ptr())) {
    py::dict out;
    for (auto [k, v] : py::reinterpret_borrow<py::dict>(value)) out[k] = WithoutNan(v);
    return out;
  }
  if (PyList_Check(value.ptr()) || PyTuple_Check(value.ptr())) {
    py::list out;
    for (py::handle v : value) out.append(WithoutNan(v));
    return out;
  }
  if (py::hasattr(value, "tolist") && !py::isinstance<py::str>(value)) {
    return WithoutNan(value.attr("tolist")());
  }
  return py::reinterpret_borrow<py::object>(value);
}

class ColumnEncoder {
 public:
  explicit ColumnEncoder(uint64_t rows)
      : np_(py::module_::import("numpy")), pd_(py::module_::import("pandas")), rows_(rows) {}

  //! `values` (a numpy array or pandas extension array) as a frame column.
  EncodedColumn Encode(const std::string& name, py::object values) {
    py::object dtype = values.attr("dtype");
    const std::string pandas_dtype = py::str(dtype);
    EncodedColumn e;
    if (py::isinstance(dtype, np_.attr("dtype"))) {
      e = Numpy(name, np_.attr("asarray")(values));
    } else if (py::isinstance(dtype, pd_.attr("DatetimeTZDtype"))) {
      e = WithNaT(Kind::kTimestamp, np_.attr("ascontiguousarray")(values.attr("asi8")));
      e.plan.info.tz = py::str(dtype.attr("tz"));
    } else if (py::hasattr(values, "_mask") && py::hasattr(values, "_data")) {
      e = Masked(name, values);
    } else {
      e = Objects(name, values.attr("to_numpy")("dtype"_a = "O", "na_value"_a = py::none()));
    }
    e.plan.info.name = name;
    e.plan.info.pandas_dtype = pandas_dtype;
    return e;
  }

 private:
  EncodedColumn Fixed(Kind kind, py::object array, std::vector<uint8_t> validity = {}) {
    EncodedColumn e;
    e.plan.kind = kind;
    e.owner = np_.attr("ascontiguousarray")(array);
    e.data = py::array(e.owner).data();
    e.validity = std::move(validity);
    e.plan.has_validity = !e.validity.empty();
    return e;
  }
  //! 1 where `mask` (a bool array) is false; empty when it is false everywhere.
  std::vector<uint8_t> ValidityFromMask(py::object mask) {
    py::array_t<bool, py::array::c_style | py::array::forcecast> m(mask);
    std::vector<uint8_t> validity(rows_);
    bool any = false;
    for (uint64_t r = 0; r < rows_; ++r) {
      validity[r] = !m.data()[r];
      any |= m.data()[r];
    }
    return any ? validity : std::vector<uint8_t>();
  }
  //! int64 values (timestamps, timedeltas) with NaT as NULL.
  EncodedColumn WithNaT(Kind kind, py::object i8) {
    EncodedColumn e = Fixed(kind, i8);
    const auto* v = static_cast<const int64_t*>(e.data);
    for (uint64_t r = 0; r < rows_; ++r) {
      if (v[r] != std::numeric_limits<int64_t>::min()) continue;
      if (e.validity.empty()) e.validity.assign(rows_, 1);
      e.validity[r] = 0;
    }
    e.plan.has_validity = !e.validity.empty();
    return e;
  }
  py::object Int64(const std::string& name, py::object ints) {
    const auto kind = ints.attr("dtype").attr("kind").cast<std::string>();
    if (kind == "u" && rows_ > 0 && ints.attr("dtype").attr("itemsize").cast<int>() == 8 &&
        ints.attr("max")().cast<uint64_t>() > uint64_t{std::numeric_limits<int64_t>::max()}) {
      throw py::type_error("frame: column \"" + name +
                           "\": uint64 values above 2**63-1 have no frame kind; cast the column "
                           "(e.g. .astype('float64') or .astype(str))");
    }
    return ints.attr("astype")("<i8", "copy"_a = false);
  }

  EncodedColumn Numpy(const std::string& name, py::object array) {
    const auto kind = array.attr("dtype").attr("kind").cast<std::string>();
    if (kind == "i" || kind == "u") return Fixed(Kind::kInt64, Int64(name, array));
    if (kind == "b") return Fixed(Kind::kBool, array);
    if (kind == "M" || kind == "m") {
      py::object ns = array.attr("astype")(kind == "M" ? "M8[ns]" : "m8[ns]", "copy"_a = false);
      return WithNaT(kind == "M" ? Kind::kTimestamp : Kind::kInt64, ns.attr("view")("<i8"));
    }
    if (kind == "f") {
      EncodedColumn e = Fixed(Kind::kFloat64, array.attr("astype")("<f8", "copy"_a = false));
      const auto* v = static_cast<const double*>(e.data);
      for (uint64_t r = 0; r < rows_; ++r) {
        if (v[r] == v[r]) continue;  // NaN -> NULL
        if (e.validity.empty()) e.validity.assign(rows_, 1);
        e.validity[r] = 0;
      }
      e.plan.has_validity = !e.validity.empty();
      return e;
    }
    if (kind == "O" || kind == "U" || kind == "S" || kind == "c") {
      return Objects(name, array.attr("astype")("O", "copy"_a = false));
    }
    throw py::type_error("frame: column \"" + name + "\": dtype " +
                         py::str(array.attr("dtype")).cast<std::string>() + " has no frame kind");
  }

  //! pandas' nullable arrays (Int64, UInt8, Float64, boolean, ...): values and their mask.
  EncodedColumn Masked(const std::string& name, py::object values) {
    py::object data = values.attr("_data");
    const auto kind = data.attr("dtype").attr("kind").cast<std::string>();
    std::vector<uint8_t> validity = ValidityFromMask(values.attr("_mask"));
    if (kind == "i" || kind == "u") return Fixed(Kind::kInt64, Int64(name, data), validity);
    if (kind == "f")
      return Fixed(Kind::kFloat64, data.attr("astype")("<f8", "copy"_a = false), validity);
    if (kind == "b") return Fixed(Kind::kBool, data, validity);
    return Objects(name, values.attr("to_numpy")("dtype"_a = "O", "na_value"_a = py::none()));
  }

  //! An object column, by its values (Mage casts mixed columns to str).
  EncodedColumn Objects(const std::string& name, py::object objects) {
    py::array values = np_.attr("ascontiguousarray")(objects, "dtype"_a = "O");
    if (std::optional<EncodedColumn> e = PlainStrings(name, values)) return std::move(*e);
    py::object isna = pd_.attr("isna")(values);
    py::array_t<bool, py::array::c_style | py::array::forcecast> null(isna);
    auto* slots = static_cast<PyObject* const*>(values.data());
    for (uint64_t r = 0; r < rows_; ++r) {
      if (null.data()[r]) continue;
      if (PyDict_Check(slots[r]) || PyList_Check(slots[r])) {
        return Texts(name, values, null, Kind::kJson);
      }
      break;
    }
    const auto inferred = pd_.attr("api")
                              .attr("types")
                              .attr("infer_dtype")(values, "skipna"_a = true)
                              .cast<std::string>();
    try {
      if (inferred == "integer") {
        return Masked(name, pd_.attr("array")(values, "dtype"_a = "Int64"));
      }
      if (inferred == "floating" || inferred == "mixed-integer-float" || inferred == "decimal") {
        py::object floats = pd_.attr("Series")(values).attr("astype")("float64").attr("_values");
        return Fixed(Kind::kFloat64, floats, ValidityFromMask(isna));
      }
      if (inferred == "boolean") {
        py::object bools = np_.attr("where")(isna, false, values).attr("astype")("bool");
        return Fixed(Kind::kBool, bools, ValidityFromMask(isna));
      }
      if (inferred == "datetime" || inferred == "datetime64") {
        py::object times = pd_.attr("to_datetime")(pd_.attr("Series")(values)).attr("_values");
        EncodedColumn e = Encode(name, times);
        if (e.plan.kind == Kind::kTimestamp) return e;
      }
      if (inferred == "date") {
        py::object known = values.attr("copy")();
        known.attr("__setitem__")(isna, py::none());
        py::object days = np_.attr("array")(known, "dtype"_a = "M8[D]").attr("astype")("<i4");
        return Fixed(Kind::kDate, days, ValidityFromMask(isna));
      }
    } catch (const py::error_already_set&) {
      // Values pandas cannot convert (ints beyond int64, mixed time zones): as text.
    }
    return Texts(name, values, null, Kind::kString);
  }

  //! The column as text when every value is a str or a NULL (None, NaN, pd.NA, NaT): one pass,
  //! without pandas' isna and infer_dtype. nullopt for any other value.
  std::optional<EncodedColumn> PlainStrings(const std::string& name, const py::array& values) {
    PyObject* na = pd_.attr("NA").ptr();
    PyObject* nat = pd_.attr("NaT").ptr();
    auto* slots = static_cast<PyObject* const*>(values.data());
    EncodedColumn e;
    e.plan.kind = Kind::kString;
    e.owner = values;
    e.texts.resize(rows_, {nullptr, 0});
    for (uint64_t r = 0; r < rows_; ++r) {
      PyObject* o = slots[r];
      if (PyUnicode_Check(o)) {
        PutText(e, name, r, o);
      } else if (o == Py_None || o == na || o == nat ||
                 (PyFloat_Check(o) && std::isnan(PyFloat_AS_DOUBLE(o)))) {
        if (e.validity.empty()) e.validity.assign(rows_, 1);
        e.validity[r] = 0;
      } else {
        return std::nullopt;
      }
    }
    e.plan.has_validity = !e.validity.empty();
    return e;
  }

  //! Row `r` of `e` is the UTF-8 of `text` (a str that `e` or its owner keeps alive).
  static void PutText(EncodedColumn& e, const std::string& name, uint64_t r, PyObject* text) {
    Py_ssize_t size = 0;
    const char* utf8 = PyUnicode_AsUTF8AndSize(text, &size);
    if (utf8 == nullptr) {
      PyErr_Clear();
      throw py::value_error("frame: column \"" + name + "\", row " + std::to_string(r) +
                            ": text that UTF-8 cannot encode (a lone surrogate)");
    }
    e.texts[r] = {utf8, size};
    e.plan.string_bytes += static_cast<uint64_t>(size);
  }

  //! Text of each value: str as it is, anything else str(value), or json.dumps for json.
  EncodedColumn Texts(const std::string& name, const py::array& values,
                      const py::array_t<bool, py::array::c_style | py::array::forcecast>& null,
                      Kind kind) {
    EncodedColumn e;
    e.plan.kind = kind;
    e.owner = values;
    e.texts.resize(rows_, {nullptr, 0});
    py::object dumps = py::module_::import("json").attr("dumps");
    py::cpp_function complex_values([](py::handle o) -> py::object {  // Mage's encode_complex
      if (py::hasattr(o, "isoformat")) return o.attr("isoformat")();
      if (py::hasattr(o, "tolist")) return o.attr("tolist")();
      if (PyAnySet_Check(o.ptr())) return py::list(py::reinterpret_borrow<py::object>(o));
      return py::str(o);
    });
    auto* slots = static_cast<PyObject* const*>(values.data());
    bool any_null = false;
    for (uint64_t r = 0; r < rows_; ++r) {
      if (null.data()[r]) {
        any_null = true;
        continue;
      }
      py::handle value(slots[r]);
      if (kind == Kind::kJson) {
        py::object text;
        try {
          text = dumps(value, "default"_a = complex_values, "allow_nan"_a = false);
        } catch (const py::error_already_set&) {
          try {
            text = dumps(WithoutNan(value), "default"_a = complex_values, "allow_nan"_a = false);
          } catch (const py::error_already_set& e) {
            throw py::type_error("frame: column \"" + name + "\", row " + std::to_string(r) +
                                 ": cannot be written as JSON: " + e.what());
          }
        }
        e.made.push_back(std::move(text));
        value = e.made.back();
      } else if (!PyUnicode_Check(value.ptr())) {
        e.made.push_back(py::str(value));
        value = e.made.back();
      }
      PutText(e, name, r, value.ptr());
    }
    if (any_null) e.validity = ValidityFromMask(py::reinterpret_borrow<py::object>(null));
    e.plan.has_validity = !e.validity.empty();
    return e;
  }

  py::module_ np_, pd_;
  uint64_t rows_;
};

void WriteColumn(int fd, const EncodedColumn& e, const layout::Column& placed, uint64_t rows) {
  if (placed.validity) layout::WriteAt(fd, placed.validity->offset, e.validity.data(), rows);
  if (!placed.offsets) {
    layout::WriteAt(fd, placed.data.offset, e.data, placed.data.bytes);
    return;
  }
  std::vector<int64_t> offsets(rows + 1, 0);
  std::string text;
  text.reserve(e.plan.string_bytes);
  for (uint64_t r = 0; r < rows; ++r) {
    if (e.texts[r].first != nullptr) text.append(e.texts[r].first, e.texts[r].second);
    offsets[r + 1] = static_cast<int64_t>(text.size());
  }
  layout::WriteAt(fd, placed.offsets->offset, offsets.data(), offsets.size() * 8);
  layout::WriteAt(fd, placed.data.offset, text.data(), text.size());
}

//! The column names of `df` as str; ValueError for a duplicate, with Mage's message.
std::vector<std::string> ColumnNames(py::handle df) {
  py::object labels = df.attr("columns");
  py::object duplicated = labels.attr("duplicated")();
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (size_t i = 0; i < py::len(labels); ++i) {
    std::string name = py::str(labels[py::int_(i)]);
    if (duplicated[py::int_(i)].cast<bool>() || !seen.insert(name).second) {
      throw py::value_error("Please do not use duplicate column name: \"" + name + "\"");
    }
    names.push_back(std::move(name));
  }
  return names;
}

nlohmann::json LevelNameJson(py::handle name) {
  if (name.is_none()) return nullptr;
  if (PyBool_Check(name.ptr())) return py::str(name).cast<std::string>();
  if (PyLong_Check(name.ptr())) return name.cast<int64_t>();
  if (PyFloat_Check(name.ptr())) return name.cast<double>();
  return py::str(name).cast<std::string>();
}

}  // namespace

int DataFrameToFrame(py::handle df) {
  py::module_ pd = py::module_::import("pandas");
  if (!py::isinstance(df, pd.attr("DataFrame"))) {
    throw py::type_error("frame: expected a pandas.DataFrame, not " +
                         py::str(py::type::handle_of(df).attr("__name__")).cast<std::string>());
  }
  const std::vector<std::string> names = ColumnNames(df);
  const uint64_t rows = py::len(df.attr("index"));
  ColumnEncoder encoder(rows);
  std::vector<EncodedColumn> columns;
  py::object iloc = df.attr("iloc");
  for (size_t i = 0; i < names.size(); ++i) {
    py::object column = iloc[py::make_tuple(py::slice(py::none(), py::none(), py::none()), i)];
    columns.push_back(encoder.Encode(names[i], column.attr("_values")));
  }
  // A non-default index becomes columns after the others, as pyarrow stores it.
  nlohmann::json index = nullptr;
  py::object idx = df.attr("index");
  const bool default_index = py::type::handle_of(idx).is(pd.attr("RangeIndex")) &&
                             idx.attr("start").cast<int64_t>() == 0 &&
                             idx.attr("step").cast<int64_t>() == 1 && idx.attr("name").is_none();
  if (!default_index) {
    std::set<std::string> taken(names.begin(), names.end());
    index = {{"columns", nlohmann::json::array()}, {"names", nlohmann::json::array()}};
    const int levels = idx.attr("nlevels").cast<int>();
    for (int i = 0; i < levels; ++i) {
      py::object level_name = idx.attr("names")[py::int_(i)];
      std::string column = level_name.is_none() ? "" : py::str(level_name).cast<std::string>();
      if (column.empty() || taken.contains(column)) {
        column = "__index_level_" + std::to_string(i) + "__";
      }
      taken.insert(column);
      columns.push_back(encoder.Encode(column, idx.attr("get_level_values")(i).attr("_values")));
      index["columns"].push_back(column);
      index["names"].push_back(LevelNameJson(level_name));
    }
  }
  std::vector<layout::ColumnPlan> plans;
  for (const EncodedColumn& e : columns) plans.push_back(e.plan);
  try {
    layout::Plan plan = layout::PlanFrame(rows, std::move(plans), index);
    UniqueFd fd = layout::CreateFrameFile(plan.file_bytes);
    layout::WriteHeader(plan, fd.get());
    for (size_t c = 0; c < columns.size(); ++c) {
      WriteColumn(fd.get(), columns[c], plan.layout.columns[c], rows);
    }
    layout::SealFrameFile(fd.get());
    return fd.Release();
  } catch (const FrameError& e) {
    throw py::value_error(e.what());
  }
}

}  // namespace kiln::python
