// project/error.h: errors in a project's files (metadata.yaml, pipelines, block files).
#pragma once

#include "kiln/common/error.h"

namespace kiln::project {

//! A project, pipeline or block definition is invalid. what() is "<file>[:<line>]: <message>".
class ProjectError : public Error {
 public:
  using Error::Error;
};

}  // namespace kiln::project
