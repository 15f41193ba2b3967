// Tensor maps for the TMA copies: tensor_map.hpp.
#include "tensor_map.hpp"

#include <cudaTypedefs.h>  // PFN_cuTensorMapEncodeTiled

#include <mutex>
#include <string>

#include "check.hpp"

namespace flashlab::cuda {
namespace {

// cuTensorMapEncodeTiled from the driver the runtime loaded (no link against libcuda), looked up
// once. The 12.0 version of the entry point is the one this code is written against.
PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static std::once_flag once;
  static PFN_cuTensorMapEncodeTiled_v12000 encode = nullptr;
  static std::string failure;
  std::call_once(once, [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    const cudaError_t status = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn,
                                                                12000, cudaEnableDefault, &found);
    if (status != cudaSuccess || found != cudaDriverEntryPointSuccess || fn == nullptr) {
      failure = status != cudaSuccess ? cudaGetErrorString(status)
                                      : "the driver does not export cuTensorMapEncodeTiled";
      cudaGetLastError();
      return;
    }
    encode = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
  });
  if (encode == nullptr)
    throw Error("TMA tensor maps are unavailable: " + failure +
                " (the TMA kernels need a CUDA 12 or newer driver)");
  return encode;
}

}  // namespace

CUtensorMap make_tile_map(const void* base, DType dtype, int64_t head_dim, int64_t seq,
                          int64_t matrices, int box_rows) {
  require(dtype == DType::F16 || dtype == DType::BF16,
          "make_tile_map: TMA tiles are fp16 or bf16, not " + to_string(dtype));
  // Rows must be whole 16-byte units (TMA's stride rule); a head_dim that is not a multiple of 64
  // leaves its last box partly past the tensor's edge, which TMA fills with zeros on loads and
  // drops on stores (wgmma_kernel_head_dim).
  require(head_dim % 8 == 0 && box_rows > 0 && box_rows <= 256,
          "make_tile_map: boxes are 64 columns of a head_dim multiple of 8 and at most 256 rows "
          "(head_dim " +
              std::to_string(head_dim) + ", " + std::to_string(box_rows) + " rows)");
  constexpr uint64_t kElemBytes = 2;
  const cuuint64_t dims[3] = {cuuint64_t(head_dim), cuuint64_t(seq), cuuint64_t(matrices)};
  // Strides of dims 1 and 2 in bytes (dim 0 is contiguous).
  const cuuint64_t strides[2] = {cuuint64_t(head_dim) * kElemBytes,
                                 cuuint64_t(head_dim * seq) * kElemBytes};
  const cuuint32_t box[3] = {64, cuuint32_t(box_rows), 1};
  const cuuint32_t element_strides[3] = {1, 1, 1};
  CUtensorMap map{};
  const CUresult result = tensor_map_encoder()(
      &map,
      dtype == DType::F16 ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16 : CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 3,
      const_cast<void*>(base), dims, strides, box, element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
      CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
      CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  require(result == CUDA_SUCCESS, "make_tile_map: the driver refused the tensor map (CUresult " +
                                      std::to_string(int(result)) + ") for a [" +
                                      std::to_string(matrices) + ", " + std::to_string(seq) + ", " +
                                      std::to_string(head_dim) +
                                      "] tensor; TMA needs a 16-byte aligned base address");
  return map;
}

}  // namespace flashlab::cuda
