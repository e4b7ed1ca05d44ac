// src/archive/h5_provenance.cpp — /provenance of every archive
// (relapse/archive/h5_provenance.h).
#include "relapse/archive/h5_provenance.h"

namespace relapse::archive {

H5Group h5_write_provenance(const H5Group& root, const Provenance& p) {
  H5Group g = root.group("provenance");
  for (const auto& [k, v] : p.fields) g.set_attr(k, v);
  return g;
}

}  // namespace relapse::archive
