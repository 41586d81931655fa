// python/frame_layout.h: the bytes of a frame (the layout python/frame.h specifies), shared by
// the runner side (frame.cc, frame_table.cc) and the Python side (embedded/frame_numpy*.cc):
// planning a frame's buffers and header, parsing and checking a header, the memfd it lives in.
// Internal to python/: other modules use frame.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/python/frame.h"
#include "kiln/python/unique_fd.h"

namespace kiln::python::layout {

inline constexpr char kMagic[8] = {'K', 'L', 'N', 'F', 'R', 'M', '0', '1'};
//! Magic and header length come before the header.
inline constexpr uint64_t kPrefixBytes = 16;
//! Every buffer starts at a multiple of this offset.
inline constexpr uint64_t kAlignment = 64;
//! The most rows a frame may hold (keeps every size computation far from overflow).
inline constexpr uint64_t kMaxRows = uint64_t{1} << 40;

//! A column's kind: what its buffers hold (see frame.h).
enum class Kind { kInt64, kFloat64, kBool, kString, kJson, kTimestamp, kDate };

std::string_view KindName(Kind kind);
//! The kind named `name`, or nullopt.
std::optional<Kind> ParseKind(std::string_view name);
//! Bytes per value of a kind's data buffer; 0 for string and json (variable width).
uint64_t ValueWidth(Kind kind);
//! True for string and json, which have an offsets buffer.
inline bool IsVariableWidth(Kind kind) {
  return kind == Kind::kString || kind == Kind::kJson;
}

//! Where one buffer lies in the frame file: `bytes` bytes from `offset`.
struct Extent {
  uint64_t offset = 0;
  uint64_t bytes = 0;
};

//! One column of a frame and where its buffers are.
struct Column {
  FrameColumnInfo info;
  Kind kind = Kind::kInt64;
  Extent data;
  std::optional<Extent> validity;  //!< absent when the column has no NULL
  std::optional<Extent> offsets;   //!< string and json only: int64[rows + 1]
};

//! A frame's header, decoded.
struct Layout {
  uint64_t rows = 0;
  std::vector<Column> columns;
  nlohmann::json index;  //!< {"columns": [...], "names": [...]} or null

  FrameInfo Info() const;
};

//! What a writer knows about one column before laying the frame out.
struct ColumnPlan {
  FrameColumnInfo info;
  Kind kind = Kind::kInt64;
  bool has_validity = false;
  uint64_t string_bytes = 0;  //!< string and json: the UTF-8 bytes of all values
};

//! A planned frame: every buffer placed, the header text (padded with spaces so that the first
//! buffer starts right after it) and the file's size.
struct Plan {
  Layout layout;
  std::string header;
  uint64_t file_bytes = 0;
};

//! Places the buffers of a frame of `rows` rows and `columns`, in order, each 64-byte aligned,
//! after the header. `index` as in frame.h (null or {"columns", "names"}).
//! Throws FrameError when `index` names a column that is not in `columns`.
Plan PlanFrame(uint64_t rows, std::vector<ColumnPlan> columns, nlohmann::json index);

//! Checks that `index` is null or {"columns": [...], "names": [...]} with as many names as
//! columns, each column one of `names`. Throws FrameError.
void CheckIndex(const nlohmann::json& index, const std::set<std::string>& names);

//! Writes the magic, the header length and `plan.header` at the start of the frame file `fd`.
//! Throws FrameError.
void WriteHeader(const Plan& plan, int fd);
//! Writes `bytes` bytes from `data` at `offset` of the frame file `fd` (pwrite: the kernel fills
//! fresh pages directly, no mapping, no zeroing). Throws FrameError.
void WriteAt(int fd, uint64_t offset, const void* data, uint64_t bytes);

//! Parses and checks the header of the frame at `file` (`size` bytes): the magic, the JSON, the
//! kinds, every buffer inside the file after the header, 64-byte aligned, with the size `rows`
//! implies, and an index naming existing columns. Does not read the buffers (see CheckColumn).
//! Throws FrameError naming the column concerned.
Layout ParseFrame(const uint8_t* file, uint64_t size);

//! Checks the values of a parsed column that could make a reader misbehave: string offsets
//! start at 0 or more, never decrease and end inside the data buffer, and the text of every
//! non-NULL value is valid UTF-8 (DuckDB requires it). Other kinds need no check: any byte is a
//! value (readers treat a nonzero bool or validity byte as 1). O(rows). Throws FrameError naming
//! the column and row.
void CheckColumn(const Column& column, uint64_t rows, const uint8_t* file);

//! True when `text` is valid UTF-8.
bool IsValidUtf8(const char* text, uint64_t bytes);

//! A new, empty memfd for a frame (close-on-exec, sealing allowed), `bytes` long.
//! Throws FrameError when the kernel refuses.
UniqueFd CreateFrameFile(uint64_t bytes);
//! Makes the frame in `fd` immutable: no more writes, shrinking, growing or sealing.
//! REQUIRES: no writable shared mapping of it remains. Throws FrameError.
void SealFrameFile(int fd);
//! Ensures the frame in `fd` cannot change while it is read: already sealed against writes and
//! shrinking, or sealed now. Throws FrameError when it cannot be (not a memfd, or mapped
//! writable elsewhere).
void RequireSealed(int fd);

//! A read-only shared mapping of a whole frame file, unmapped when destroyed. Movable, not
//! copyable.
class Mapping {
 public:
  //! Maps `fd` (its current size). Throws FrameError (e.g. not a regular file or memfd).
  static Mapping Map(int fd);
  Mapping() = default;
  ~Mapping();
  Mapping(Mapping&& other) noexcept;
  Mapping& operator=(Mapping&& other) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  void Reset();

 private:
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace kiln::python::layout
