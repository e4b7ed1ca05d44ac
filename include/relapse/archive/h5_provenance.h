// relapse/archive/h5_provenance.h — /provenance, written the same way in
// every archive relapse writes (the run archive, `relapse score --out`,
// `relapse quantize`'s quant_codes.h5, the study archive): one UTF-8 string
// attribute per Provenance field (relapse/core/provenance.h).
#pragma once
#include "relapse/archive/h5.h"
#include "relapse/core/provenance.h"

namespace relapse::archive {

// Creates root/provenance holding p's fields; returns the group, to which a
// writer adds its own attributes (run name, config, sweep file, ...).
H5Group h5_write_provenance(const H5Group& root, const Provenance& p);

}  // namespace relapse::archive
