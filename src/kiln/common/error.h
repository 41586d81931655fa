// common/error.h: the root of Kiln's error types.
// Every module boundary throws its own subclass (ProjectError, TemplateError, DataError, ...),
// whose what() is one line that says what went wrong and where (file:line, key, block, row).
#pragma once

#include <stdexcept>
#include <string>

namespace kiln {

//! Base of every error Kiln reports to a user. what() is a complete one-line message.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace kiln
