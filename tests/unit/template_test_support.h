// tests/unit/template_test_support.h: helpers shared by the renderer's test files.
#pragma once

#include <string>
#include <string_view>

#include "kiln/common/datetime.h"
#include "kiln/template/render.h"

namespace kiln::templating::testing {

inline std::string R(std::string_view source, const Context& context = {}) {
  return Render(source, context, "test.sql");
}

// The what() of the TemplateError that rendering `source` throws.
inline std::string ErrorOf(std::string_view source, const Context& context = {}) {
  try {
    std::string out = Render(source, context, "test.sql");
    return "no error, rendered: " + out;
  } catch (const TemplateError& e) {
    return e.what();
  }
}

inline Context With(std::string name, Value value) {
  Context context;
  context.Set(std::move(name), std::move(value));
  return context;
}

inline Value ExecutionDate() {
  return Value(DateTime::FromParts(2024, 1, 31, 6, 30));
}

}  // namespace kiln::templating::testing
