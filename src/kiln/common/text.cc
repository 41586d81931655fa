#include "kiln/common/text.h"

namespace kiln {

std::string GroupThousands(uint64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string CountOf(uint64_t count, std::string_view noun) {
  return GroupThousands(count) + " " + std::string(noun) + (count == 1 ? "" : "s");
}

}  // namespace kiln
