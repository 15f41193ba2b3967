// Reading the PNGs flashlab-viz's headless mode writes, and the pixel facts the screenshot tests
// check: exact palette colours and how many colours a frame has.
#pragma once

#include <doctest/doctest.h>

#include <stb_image.h>

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <flashlab/viz/palette.hpp>

namespace flashlab::test {

struct Image {
  int width = 0, height = 0;
  std::vector<unsigned char> rgb;
};

inline Image load_png(const std::string& path) {
  Image im;
  int channels = 0;
  unsigned char* data = stbi_load(path.c_str(), &im.width, &im.height, &channels, 3);
  REQUIRE_MESSAGE(data != nullptr, "cannot read " << path);
  im.rgb.assign(data, data + size_t(im.width) * size_t(im.height) * 3);
  stbi_image_free(data);
  return im;
}

// Bounding box (x0, y0, x1, y1) of the pixels of exactly colour c; x0 = -1 if none.
inline std::array<int, 4> bbox(const Image& im, viz::palette::Rgb c) {
  std::array<int, 4> box{-1, -1, -1, -1};
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x) {
      const unsigned char* p = &im.rgb[(size_t(y) * size_t(im.width) + size_t(x)) * 3];
      if (p[0] != c.r || p[1] != c.g || p[2] != c.b) continue;
      if (box[0] < 0) box = {x, y, x, y};
      box = {std::min(box[0], x), std::min(box[1], y), std::max(box[2], x), std::max(box[3], y)};
    }
  return box;
}

// Pixels of exactly colour c.
inline size_t count_color(const Image& im, viz::palette::Rgb c) {
  size_t n = 0;
  for (size_t k = 0; k + 2 < im.rgb.size(); k += 3)
    n += im.rgb[k] == c.r && im.rgb[k + 1] == c.g && im.rgb[k + 2] == c.b;
  return n;
}

inline size_t distinct_colors(const Image& im) {
  std::set<uint32_t> colors;
  for (size_t k = 0; k + 2 < im.rgb.size(); k += 3)
    colors.insert(uint32_t(im.rgb[k]) << 16 | uint32_t(im.rgb[k + 1]) << 8 | im.rgb[k + 2]);
  return colors.size();
}

}  // namespace flashlab::test
