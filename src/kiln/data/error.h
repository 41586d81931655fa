// data/error.h: errors from the data plane (DuckDB, block output storage).
#pragma once

#include "kiln/common/error.h"

namespace kiln::data {

//! DuckDB rejected a statement, or an output could not be stored or read. what() carries
//! DuckDB's message and, where known, the statement or path concerned.
class DataError : public Error {
 public:
  using Error::Error;
};

//! A statement was stopped by Connection::Interrupt() (a timeout or a cancelled run).
class InterruptedError : public DataError {
 public:
  using DataError::DataError;
};

}  // namespace kiln::data
