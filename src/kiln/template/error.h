// template/error.h: the one error type the template module reports.
// Everything that goes wrong while lexing, parsing or rendering a template (a syntax error, an
// unknown filter, an undefined name used in output, a Function that failed) surfaces as a
// TemplateError whose what() names the template and the 1-based line: "clean.sql:3: message".
#pragma once

#include <string>
#include <utility>

#include "kiln/common/error.h"

namespace kiln::templating {

//! A template that cannot be parsed or rendered. what() is "<origin>:<line>: <message>".
class TemplateError : public kiln::Error {
 public:
  //! An error at `line` (1-based) of the template named `origin`.
  TemplateError(std::string origin, int line, std::string message)
      : kiln::Error(origin + ":" + std::to_string(line) + ": " + message),
        origin_(std::move(origin)),
        line_(line),
        message_(std::move(message)) {}

  //! An error whose place is not known where it is thrown (inside a Function, a filter or a value
  //! operation). Render() rethrows it with the origin and line of the expression being evaluated.
  //! Until then what() is `message` alone.
  explicit TemplateError(std::string message)
      : kiln::Error(message), line_(0), message_(std::move(message)) {}

  //! The template's name as given to Render(), e.g. "transformers/clean.sql"; empty if unlocated.
  const std::string& origin() const { return origin_; }
  //! 1-based line of the offending tag or expression; 0 if unlocated.
  int line() const { return line_; }
  //! The message without the location prefix.
  const std::string& message() const { return message_; }
  //! Whether origin() and line() are known.
  bool located() const { return line_ > 0; }

 private:
  std::string origin_;
  int line_;
  std::string message_;
};

}  // namespace kiln::templating
