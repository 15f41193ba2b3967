// .npy files spelled out byte by byte from NumPy's format spec, for tests that must not depend on
// flashlab's own writer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flashlab::test {

// Magic, version major.0, the header length in 2 (version 1) or 4 (versions 2, 3) little-endian
// bytes, then the header text and the data, without any padding.
inline std::vector<uint8_t> hand_made_npy(int major, const std::string& header,
                                          const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(major), 0};
  const int length_bytes = major == 1 ? 2 : 4;
  for (int i = 0; i < length_bytes; ++i) out.push_back(uint8_t(header.size() >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

}  // namespace flashlab::test
