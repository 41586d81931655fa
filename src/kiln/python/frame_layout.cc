// Frame headers: planning, writing, parsing and checking; the memfd a frame lives in.
#include "kiln/python/frame_layout.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

namespace kiln::python::layout {
namespace {

constexpr std::string_view kKindNames[] = {"int64", "float64",   "bool", "string",
                                           "json",  "timestamp", "date"};

uint64_t AlignUp(uint64_t n) {
  return (n + kAlignment - 1) / kAlignment * kAlignment;
}

[[noreturn]] void Fail(const std::string& message) {
  throw FrameError("frame: " + message);
}

[[noreturn]] void FailColumn(const std::string& column, const std::string& message) {
  Fail("column \"" + column + "\": " + message);
}

[[noreturn]] void FailSystem(const std::string& what) {
  Fail(what + ": " + std::strerror(errno));
}

nlohmann::ordered_json ExtentJson(const std::optional<Extent>& extent) {
  if (!extent) return nullptr;
  return nlohmann::ordered_json::array({extent->offset, extent->bytes});
}

nlohmann::ordered_json HeaderJson(const Layout& layout) {
  nlohmann::ordered_json columns = nlohmann::ordered_json::array();
  for (const Column& c : layout.columns) {
    columns.push_back(
        {{"name", c.info.name},
         {"kind", KindName(c.kind)},
         {"pandas_dtype", c.info.pandas_dtype},
         {"tz", c.info.tz.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(c.info.tz)},
         {"data", ExtentJson(c.data)},
         {"validity", ExtentJson(c.validity)},
         {"offsets", ExtentJson(c.offsets)}});
  }
  return {{"rows", layout.rows}, {"columns", std::move(columns)}, {"index", layout.index}};
}

// Places every buffer from `start` on; returns the end of the last one.
uint64_t PlaceBuffers(Layout& layout, const std::vector<ColumnPlan>& plans, uint64_t start) {
  uint64_t at = start;
  auto place = [&](uint64_t bytes) {
    Extent e{AlignUp(at), bytes};
    at = e.offset + bytes;
    return e;
  };
  for (size_t i = 0; i < plans.size(); ++i) {
    const ColumnPlan& p = plans[i];
    Column& c = layout.columns[i];
    const uint64_t rows = layout.rows;
    if (IsVariableWidth(p.kind)) {
      c.offsets = place((rows + 1) * 8);
      c.data = place(p.string_bytes);
    } else {
      c.data = place(rows * ValueWidth(p.kind));
    }
    c.validity = p.has_validity ? std::optional<Extent>(place(rows)) : std::nullopt;
  }
  return AlignUp(at);
}

std::optional<Extent> ParseExtent(const nlohmann::json& column, const char* key,
                                  const std::string& name, uint64_t first, uint64_t size) {
  if (!column.contains(key) || column[key].is_null()) return std::nullopt;
  const nlohmann::json& e = column[key];
  if (!e.is_array() || e.size() != 2 || !e[0].is_number_unsigned() || !e[1].is_number_unsigned()) {
    FailColumn(name, std::string("\"") + key + "\" must be [offset, bytes]");
  }
  Extent extent{e[0].get<uint64_t>(), e[1].get<uint64_t>()};
  if (extent.offset % kAlignment != 0) {
    FailColumn(name, std::string(key) + " buffer is not 64-byte aligned");
  }
  if (extent.offset < first || extent.offset > size || extent.bytes > size - extent.offset) {
    FailColumn(name, std::string(key) + " buffer [" + std::to_string(extent.offset) + ", +" +
                         std::to_string(extent.bytes) + ") is outside the frame's " +
                         std::to_string(size) + " bytes");
  }
  return extent;
}

std::string StringField(const nlohmann::json& column, const char* key) {
  if (!column.contains(key) || column[key].is_null()) return "";
  if (!column[key].is_string()) Fail(std::string("\"") + key + "\" must be a string");
  return column[key].get<std::string>();
}

Column ParseColumn(const nlohmann::json& j, uint64_t rows, uint64_t first, uint64_t size) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) {
    Fail("every column needs a \"name\" string");
  }
  Column c;
  c.info.name = j["name"].get<std::string>();
  const std::string kind = StringField(j, "kind");
  std::optional<Kind> parsed = ParseKind(kind);
  if (!parsed) FailColumn(c.info.name, "unknown kind \"" + kind + "\"");
  c.kind = *parsed;
  c.info.kind = kind;
  c.info.pandas_dtype = StringField(j, "pandas_dtype");
  c.info.tz = StringField(j, "tz");
  std::optional<Extent> data = ParseExtent(j, "data", c.info.name, first, size);
  if (!data) FailColumn(c.info.name, "no data buffer");
  c.data = *data;
  c.validity = ParseExtent(j, "validity", c.info.name, first, size);
  c.offsets = ParseExtent(j, "offsets", c.info.name, first, size);
  if (IsVariableWidth(c.kind)) {
    if (!c.offsets || c.offsets->bytes != (rows + 1) * 8) {
      FailColumn(c.info.name, "needs an offsets buffer of (rows + 1) * 8 bytes");
    }
  } else {
    if (c.offsets) FailColumn(c.info.name, "a " + kind + " column has no offsets buffer");
    if (c.data.bytes != rows * ValueWidth(c.kind)) {
      FailColumn(c.info.name, "data buffer has " + std::to_string(c.data.bytes) +
                                  " bytes, expected " + std::to_string(rows * ValueWidth(c.kind)));
    }
  }
  if (c.validity && c.validity->bytes != rows) {
    FailColumn(c.info.name, "validity buffer must have one byte per row");
  }
  return c;
}

}  // namespace

std::string_view KindName(Kind kind) {
  return kKindNames[static_cast<int>(kind)];
}

std::optional<Kind> ParseKind(std::string_view name) {
  for (size_t i = 0; i < std::size(kKindNames); ++i) {
    if (kKindNames[i] == name) return static_cast<Kind>(i);
  }
  return std::nullopt;
}

uint64_t ValueWidth(Kind kind) {
  switch (kind) {
    case Kind::kInt64:
    case Kind::kFloat64:
    case Kind::kTimestamp:
      return 8;
    case Kind::kDate:
      return 4;
    case Kind::kBool:
      return 1;
    case Kind::kString:
    case Kind::kJson:
      return 0;
  }
  return 0;
}

void CheckIndex(const nlohmann::json& index, const std::set<std::string>& names) {
  if (index.is_null()) return;
  if (!index.is_object() || !index.contains("columns") || !index["columns"].is_array() ||
      !index.contains("names") || !index["names"].is_array()) {
    Fail("\"index\" must be null or {\"columns\": [...], \"names\": [...]}");
  }
  const nlohmann::json& columns = index["columns"];
  if (columns.empty() || columns.size() != index["names"].size()) {
    Fail("\"index\" needs as many names as columns, and at least one column");
  }
  for (const nlohmann::json& c : columns) {
    if (!c.is_string() || !names.contains(c.get<std::string>())) {
      Fail("index column " + c.dump() + " is not a column of the frame");
    }
  }
  for (const nlohmann::json& n : index["names"]) {
    if (!n.is_null() && !n.is_string() && !n.is_number()) {
      Fail("index level names must be strings, numbers or null, not " + n.dump());
    }
  }
}

FrameInfo Layout::Info() const {
  FrameInfo info;
  info.rows = rows;
  for (const Column& c : columns) info.columns.push_back(c.info);
  info.index = index;
  return info;
}

Plan PlanFrame(uint64_t rows, std::vector<ColumnPlan> columns, nlohmann::json index) {
  if (rows > kMaxRows) Fail("too many rows: " + std::to_string(rows));
  std::set<std::string> names;
  Plan plan;
  plan.layout.rows = rows;
  for (ColumnPlan& p : columns) {
    names.insert(p.info.name);
    p.info.kind = std::string(KindName(p.kind));
    plan.layout.columns.push_back(Column{p.info, p.kind, {}, {}, {}});
  }
  CheckIndex(index, names);
  plan.layout.index = std::move(index);
  // The header holds the offsets and the offsets follow the header: grow the room for the
  // header until the header (whose numbers only grow with it) fits, then pad it with spaces.
  uint64_t room = 0;
  for (;;) {
    const uint64_t start = AlignUp(kPrefixBytes + room);
    plan.file_bytes = PlaceBuffers(plan.layout, columns, start);
    plan.header = HeaderJson(plan.layout).dump();
    if (kPrefixBytes + plan.header.size() <= start) {
      plan.header.resize(start - kPrefixBytes, ' ');
      return plan;
    }
    room = plan.header.size();
  }
}

void WriteHeader(const Plan& plan, int fd) {
  std::string prefix(kMagic, sizeof(kMagic));
  const uint64_t length = plan.header.size();
  for (int i = 0; i < 8; ++i) prefix += static_cast<char>(length >> (8 * i));
  WriteAt(fd, 0, (prefix + plan.header).data(), kPrefixBytes + length);
}

void WriteAt(int fd, uint64_t offset, const void* data, uint64_t bytes) {
  const auto* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const size_t step = std::min<uint64_t>(bytes, uint64_t{1} << 30);
    const ssize_t n = pwrite(fd, p, step, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) FailSystem("cannot write the frame");
    p += n;
    offset += static_cast<uint64_t>(n);
    bytes -= static_cast<uint64_t>(n);
  }
}

Layout ParseFrame(const uint8_t* file, uint64_t size) {
  if (size < kPrefixBytes || std::memcmp(file, kMagic, sizeof(kMagic)) != 0) {
    Fail("not a Kiln frame (no KLNFRM01 magic)");
  }
  uint64_t length = 0;
  for (int i = 0; i < 8; ++i) length |= static_cast<uint64_t>(file[8 + i]) << (8 * i);
  if (length > size - kPrefixBytes) Fail("header length exceeds the frame's size");
  nlohmann::json header;
  try {
    const char* text = reinterpret_cast<const char*>(file + kPrefixBytes);
    header = nlohmann::json::parse(text, text + length);
  } catch (const nlohmann::json::exception& e) {
    Fail(std::string("header is not JSON: ") + e.what());
  }
  if (!header.is_object() || !header.contains("rows") || !header["rows"].is_number_unsigned() ||
      !header.contains("columns") || !header["columns"].is_array()) {
    Fail("header needs \"rows\" (a count) and \"columns\" (a list)");
  }
  Layout layout;
  layout.rows = header["rows"].get<uint64_t>();
  if (layout.rows > kMaxRows) Fail("too many rows: " + std::to_string(layout.rows));
  std::set<std::string> names;
  for (const nlohmann::json& j : header["columns"]) {
    layout.columns.push_back(ParseColumn(j, layout.rows, kPrefixBytes + length, size));
    names.insert(layout.columns.back().info.name);
  }
  layout.index = header.contains("index") ? header["index"] : nlohmann::json();
  CheckIndex(layout.index, names);
  return layout;
}

void CheckColumn(const Column& column, uint64_t rows, const uint8_t* file) {
  if (!IsVariableWidth(column.kind)) return;
  const auto* offsets = reinterpret_cast<const int64_t*>(file + column.offsets->offset);
  const char* text = reinterpret_cast<const char*>(file + column.data.offset);
  const uint8_t* validity = column.validity ? file + column.validity->offset : nullptr;
  const int64_t end = static_cast<int64_t>(column.data.bytes);
  if (offsets[0] < 0 || offsets[0] > end) {
    FailColumn(column.info.name, "string offsets start outside the data buffer");
  }
  for (uint64_t r = 0; r < rows; ++r) {
    if (offsets[r + 1] < offsets[r] || offsets[r + 1] > end) {
      FailColumn(column.info.name,
                 "row " + std::to_string(r) + ": string offsets decrease or leave the data buffer");
    }
  }
  for (uint64_t r = 0; r < rows; ++r) {
    if (validity && validity[r] == 0) continue;
    if (!IsValidUtf8(text + offsets[r], static_cast<uint64_t>(offsets[r + 1] - offsets[r]))) {
      FailColumn(column.info.name, "row " + std::to_string(r) + ": text is not valid UTF-8");
    }
  }
}

bool IsValidUtf8(const char* text, uint64_t bytes) {
  const auto* s = reinterpret_cast<const uint8_t*>(text);
  uint64_t i = 0;
  auto continuation = [&](uint64_t at) { return at < bytes && (s[at] & 0xC0) == 0x80; };
  while (i < bytes) {
    while (i + 8 <= bytes) {  // ASCII fast path, 8 bytes at a time
      uint64_t word;
      std::memcpy(&word, s + i, 8);
      if (word & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= bytes) break;
    const uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
    } else if (c < 0xC2) {
      return false;
    } else if (c < 0xE0) {
      if (!continuation(i + 1)) return false;
      i += 2;
    } else if (c < 0xF0) {
      if (!continuation(i + 1) || !continuation(i + 2)) return false;
      if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] >= 0xA0)) return false;
      i += 3;
    } else if (c < 0xF5) {
      if (!continuation(i + 1) || !continuation(i + 2) || !continuation(i + 3)) return false;
      if ((c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] >= 0x90)) return false;
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

UniqueFd CreateFrameFile(uint64_t bytes) {
  UniqueFd fd(memfd_create("kiln-frame", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) FailSystem("memfd_create");
  if (ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0) {
    FailSystem("cannot size a frame of " + std::to_string(bytes) + " bytes");
  }
  return fd;
}

void SealFrameFile(int fd) {
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    FailSystem("cannot seal the frame");
  }
}

void RequireSealed(int fd) {
  const int needed = F_SEAL_WRITE | F_SEAL_SHRINK;
  const int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0) FailSystem("not a sealable memfd");
  if ((seals & needed) == needed) return;
  if (fcntl(fd, F_ADD_SEALS, needed | F_SEAL_GROW) != 0) {
    FailSystem("cannot seal the frame against changes while it is read");
  }
}

Mapping Mapping::Map(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) FailSystem("cannot stat the frame");
  if (!S_ISREG(st.st_mode)) Fail("the frame descriptor is not a file or memfd");
  Mapping m;
  m.size_ = static_cast<uint64_t>(st.st_size);
  if (m.size_ == 0) Fail("the frame is empty (0 bytes)");
  // Populated at once: faulting the pages in one by one costs more than reading them.
  void* p = mmap(nullptr, m.size_, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (p == MAP_FAILED) FailSystem("cannot map the frame");
  m.data_ = static_cast<uint8_t*>(p);
  return m;
}

Mapping::~Mapping() {
  Reset();
}

Mapping::Mapping(Mapping&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void Mapping::Reset() {
  if (data_ != nullptr) munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace kiln::python::layout
