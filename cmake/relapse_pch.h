// cmake/relapse_pch.h — the precompiled header for every target that uses libtorch.
// <torch/torch.h> costs ~15 s per translation unit on this machine; compiling it
// once and reusing it keeps a full build on 2 cores within minutes.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>
