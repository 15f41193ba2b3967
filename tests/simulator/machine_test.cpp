// The machine's parts on their own: HBM counts every tile per tensor and direction, SRAM
// enforces its capacity with a useful message, GPU presets and the roofline, and the tiling
// rule and its refusal messages.
#include <doctest/doctest.h>

#include <flashlab/core/error.hpp>
#include <flashlab/reference/attention.hpp>
#include <flashlab/simulator/algorithms/tiling_fit.hpp>
#include <flashlab/simulator/machine/hbm.hpp>
#include <flashlab/simulator/machine/machine.hpp>
#include <flashlab/simulator/machine/sram.hpp>
#include <flashlab/simulator/model/gpu_spec.hpp>
#include <flashlab/simulator/simulate.hpp>

namespace flashlab::simulator {
namespace {

std::string error_of(auto&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("hbm counts bytes and tiles per tensor and direction, and moves the data") {
  Hbm hbm(2, true);
  std::vector<float> q(6 * 4);
  for (size_t k = 0; k < q.size(); ++k) q[k] = float(k);
  hbm.upload(TensorId::Q, 6, 4, q.data());  // uploads are not counted
  hbm.define(TensorId::O, 6, 4);
  CHECK(hbm.traffic(TensorId::Q).bytes_read == 0);

  std::vector<float> tile(3 * 2);
  hbm.read(TensorId::Q, {2, 3, 1, 2}, tile.data());
  CHECK(tile == std::vector<float>{9, 10, 13, 14, 17, 18});
  hbm.write(TensorId::O, {2, 3, 1, 2}, tile.data());
  hbm.fill(TensorId::O, 0.5f);
  CHECK(hbm.traffic(TensorId::Q).bytes_read == 3 * 2 * 2);
  CHECK(hbm.traffic(TensorId::Q).reads == 1);
  CHECK(hbm.traffic(TensorId::O).bytes_written == 3 * 2 * 2 + 6 * 4 * 2);
  CHECK(hbm.traffic(TensorId::O).writes == 2);
  CHECK(hbm.traffic(TensorId::O).bytes_read == 0);
  CHECK(hbm.data(TensorId::O)[0] == 0.5f);

  hbm.set_counting(false);
  hbm.read(TensorId::Q, {0, 1, 0, 4}, nullptr);
  CHECK(hbm.traffic(TensorId::Q).reads == 1);
}

TEST_CASE("sram refuses to go over capacity and names the tile, the capacity and residents") {
  Sram sram(1000, 2, false);
  const Tile a = sram.alloc("K_j", TensorId::K, {0, 10, 0, 20}, "test", 6);  // 400 bytes
  const Tile b = sram.alloc("V_j", TensorId::V, {0, 10, 0, 20}, "test", 6);  // 800
  CHECK(sram.used_bytes() == 800);
  const std::string msg = error_of([&] {
    sram.alloc("S_ij", TensorId::S, {0, 10, 0, 11}, "FlashAttention", 9);
  });
  CHECK(msg.find("S_ij") != std::string::npos);
  CHECK(msg.find("1000") != std::string::npos);
  CHECK(msg.find("line 9") != std::string::npos);  // the step's tag, not a paper reference
  CHECK(msg.find("K_j 10x20 (400 B)") != std::string::npos);
  CHECK(msg.find("V_j") != std::string::npos);
  sram.free(a);
  sram.alloc("S_ij", TensorId::S, {0, 10, 0, 10}, "test", 9);
  CHECK(sram.used_bytes() == 600);
  CHECK(sram.peak_bytes() == 800);
  sram.free(b);
  CHECK(sram.live_tiles() == 1);
}

TEST_CASE("the machine drops exactly the elements the reference drops (same Philox keys)") {
  AttentionShape shape{2, 3, 40, 50, 8};
  AttentionOptions options;
  options.dropout_p = 0.3;
  options.seed = 1234;
  const AttentionParams params = make_params(options, shape);
  Machine M({1 << 20, 2, false, params}, nullptr);
  const Tensor<double> Z = reference::dropout_multiplier(shape, options, 1, 2);
  M.begin_head(1, 2, false);
  const TileRect rect{17, 9, 23, 11};  // a tile away from the origin: keys use global indices
  const Tile t = M.alloc(1, "P_ij", TensorId::P, rect, 1.0f);
  M.apply_dropout(1, "P_ij^dropped = P_ij o Z_ij", t, t, Machine::DropoutMask::Draw);
  // One Philox call per row and group of eight columns: columns 23..33 touch groups 2, 3 and 4.
  CHECK(M.stats().random_draws == 9 * 3);
  int64_t dropped = 0;
  for (int64_t r = 0; r < rect.rows; ++r) {
    for (int64_t c = 0; c < rect.cols; ++c) {
      const double z = Z.data[size_t((rect.row0 + r) * 50 + rect.col0 + c)];
      CHECK(M.tile_data(t)(r, c) == static_cast<float>(z));
      dropped += z == 0.0;
    }
  }
  CHECK(dropped > 0);
  CHECK(dropped < rect.elements());
  // Applying the same tile's mask again, as FA1 Alg. 4 l. 18 does, draws nothing new.
  const Tile u = M.alloc(2, "dP_ij", TensorId::dP, rect, 1.0f);
  M.apply_dropout(2, "dP_ij = dP_ij^dropped o Z_ij", u, u, Machine::DropoutMask::Reuse);
  CHECK(M.stats().random_draws == 9 * 3);
  for (int64_t r = 0; r < rect.rows; ++r)
    for (int64_t c = 0; c < rect.cols; ++c) CHECK(M.tile_data(u)(r, c) == M.tile_data(t)(r, c));
}

TEST_CASE("gpu presets are found by name and keep datasheet and sustained rates apart") {
  const GpuSpec a = gpu_spec_by_name("A100");
  CHECK(a.peak.dram_bytes_per_s == 1.555e12);
  CHECK(a.smem_per_block_bytes == 163 * 1024);  // the opt-in maximum per block
  CHECK(a.sm_count == 108);
  CHECK(a.peak.matmul_flops_per_s == 312e12);
  CHECK(a.peak.exp_per_s == doctest::Approx(16.0 * 108 * 1.41e9));
  const GpuSpec h = gpu_spec_by_name("h100-sxm");
  CHECK(h.peak.dram_bytes_per_s == 3.35e12);
  CHECK(h.smem_per_block_bytes == 227 * 1024);
  CHECK(h.sm_count == 132);
  CHECK(h.peak.matmul_flops_per_s == 989.4e12);
  const GpuSpec g = gpu_spec_by_name("H200");
  CHECK(g.peak.dram_bytes_per_s == 4.8e12);
  CHECK(g.l2_bytes == 60 * 1024 * 1024);
  // Every preset's sustained rates are positive and at most its datasheet peak.
  for (const GpuSpec& x : {a, h, g}) {
    CAPTURE(x.name);
    CHECK(x.sustained.dram_bytes_per_s > 0);
    CHECK(x.sustained.dram_bytes_per_s <= x.peak.dram_bytes_per_s);
    CHECK(x.sustained.matmul_flops_per_s <= x.peak.matmul_flops_per_s);
    CHECK(x.sustained.exp_per_s <= x.peak.exp_per_s * 1.001);
    CHECK(x.sustained.vector_ops_per_s <= x.peak.vector_ops_per_s);
    CHECK(x.sustained.l2_bytes_per_s > 0);
    CHECK(x.sustained.l2_reduce_bytes_per_s > 0);
    CHECK(x.sustained.rest_rate_under_matmul > 0);
    CHECK(x.sustained.rest_rate_under_matmul <= x.peak.rest_rate_under_matmul);
    CHECK(x.launch_s > 0);
  }
  const std::string msg = error_of([] { gpu_spec_by_name("v100"); });
  CHECK(msg.find("'v100'") != std::string::npos);
  CHECK(msg.find("a100, h100, h200") != std::string::npos);
}

TEST_CASE("default tiles follow the paper's rule where it fits: M = 100 KB fp16, d = 64") {
  // FA1 Alg. 1 l. 1 with M = 51200 elements: Bc = ceil(51200 / 256) = 200, Br = min(200, 64) = 64.
  // Footprint (2 Bc d + 2 Br d + Br Bc + 8 Br) = 25600 + 8192 + 12800 + 512 = 47104 <= 51200.
  FitQuery q{Algorithm::Flash, false, {1, 1, 4096, 4096, 64}, 100 * 1024, 2, false};
  const TileSizes t = default_tiles(q);
  CHECK(t.block_rows == 64);
  CHECK(t.block_cols == 200);
}

TEST_CASE("default tiles shrink the paper's rule until every tile of the algorithm fits") {
  // 192 KiB fp16 = 98304 elements, d = 128: the rule gives Bc = 192, Br = 128, which needs
  // 2*192*128 + 2*128*128 + 128*192 + 8*128 = 107520 elements. With Br = 128 the footprint is
  // 384 Bc + 33792 <= 98304, so Bc = 168 (the rule at M' = 168 * 512).
  FitQuery q{Algorithm::Flash, false, {1, 1, 65536, 65536, 128}, 192 * 1024, 2, false};
  const TileSizes t = default_tiles(q);
  CHECK(t.block_rows == 128);
  CHECK(t.block_cols == 168);
  CHECK(sram_footprint(q, t).bytes == 192 * 1024);
  // The backward holds four Bc x d and four Br x d blocks: its default tiles are smaller.
  q.backward = true;
  const TileSizes b = default_tiles(q);
  CHECK(sram_footprint(q, b).bytes <= 192 * 1024);
  CHECK(sram_footprint(q, {b.block_rows, b.block_cols + 1}).bytes > 192 * 1024);
}

TEST_CASE("a tiling that does not fit is refused with what would fit") {
  SimConfig c;
  c.shape = {1, 1, 1024, 1024, 64};
  c.sram_bytes = 64 * 1024;
  c.tiles = TileSizes{128, 128};
  const std::string msg = error_of([&] { resolve_tiles(c); });
  INFO(msg);
  CHECK(msg.find("Br=128, Bc=128 do not fit") != std::string::npos);
  CHECK(msg.find("65536") != std::string::npos);  // the capacity
  // 2 Bc d + 2 Br d + Br Bc + 8 Br <= 32768 with Br = 128: 256 Bc + 16384 + 1024 <= 32768.
  CHECK(msg.find("at most Bc=60 fits") != std::string::npos);
  CHECK(msg.find("minimum SRAM (Br=Bc=1) is") != std::string::npos);
  CHECK(msg.find("default") != std::string::npos);

  c.tiles.reset();
  c.sram_bytes = 100;  // Br = Bc = 1 needs (2*64 + 2*64 + 1 + 8) * 2 = 530 bytes
  const std::string small = error_of([&] { resolve_tiles(c); });
  INFO(small);
  CHECK(small.find("minimum SRAM (Br=Bc=1) is 530 bytes") != std::string::npos);
}

TEST_CASE("simulate validates shapes, inputs and options with clear messages") {
  SimConfig c;
  c.shape = {1, 1, 8, 8, 4};
  Tensor<float> Q(q_dims(c.shape), 1.f), K({1, 1, 9, 4}, 1.f), V(kv_dims(c.shape), 1.f);
  CHECK(error_of([&] { simulate_forward(c, &Q, &K, &V); }).find("K has shape") !=
        std::string::npos);
  CHECK(error_of([&] { simulate_forward(c, &Q, nullptr, &V); }).find("K is missing") !=
        std::string::npos);
  c.options.dropout_p = 1.5;
  CHECK(error_of([&] { simulate_forward(c, &Q, &V, &V); }).find("dropout") != std::string::npos);
  CHECK(error_of([] { algorithm_from_string("fast"); }).find("standard, flash") !=
        std::string::npos);
}

}  // namespace
}  // namespace flashlab::simulator
