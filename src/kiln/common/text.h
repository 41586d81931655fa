// common/text.h: numbers and counts as users read them in messages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln {

//! "22,303" for 22303.
std::string GroupThousands(uint64_t value);
//! "1 row", "22,303 rows": `count` with thousands separators and `noun`, plural with an "s".
std::string CountOf(uint64_t count, std::string_view noun);

}  // namespace kiln
