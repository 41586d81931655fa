// blocks/python/python_services.h: what a kiln process keeps for running Python blocks: the warm
// hosts, the frames of recent outputs, and the writer storing outputs in the background.
#pragma once

#include <cstdint>

#include "kiln/blocks/python/frame_cache.h"
#include "kiln/blocks/python/hosts.h"
#include "kiln/blocks/python/output_writer.h"

namespace kiln::blocks {

//! Owned by whoever owns the data::Engine the runs use, and destroyed before it (the writer's
//! jobs use the engine). Destroying it finishes the queued writes first.
struct PythonServices {
  PythonServices(PythonSetup setup, uint64_t frame_cache_bytes)
      : hosts(std::move(setup)), frames(frame_cache_bytes) {}

  PythonHosts hosts;
  FrameCache frames;
  OutputWriter writer;  // last: destroyed first, finishing its jobs while the rest still exists
};

}  // namespace kiln::blocks
