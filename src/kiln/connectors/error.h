// connectors/error.h: the error type of the connectors module boundary.
// Every connector (http, postgres, ...) throws a subclass of ConnectorError whose what() is one
// line naming the source it was talking to (a URL, a host, a table) and what went wrong.
#pragma once

#include "kiln/common/error.h"

namespace kiln::connectors {

//! Base of every error a connector reports: a source could not be read or a sink written.
class ConnectorError : public Error {
 public:
  using Error::Error;
};

}  // namespace kiln::connectors
