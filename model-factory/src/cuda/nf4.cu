// NF4 dequantization for QLoRA on CUDA: the packed weight (two 4-bit codes per byte, the first in the
// high nibble; one int8 block maximum per 64 weights, itself scaled by one f32 per 256 blocks plus a
// global offset) back to a row-major matrix, as in nf4.rs's `dequantize_vec`. One thread per byte of
// codes, writing two weights. The output lives only for one matmul.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

__constant__ float NF4_LEVELS[16] = {
    -1.0f, -0.6961928f, -0.52507305f, -0.3949175f, -0.28444138f, -0.18477343f, -0.091050036f, 0.0f,
    0.0795803f, 0.1609302f, 0.2461123f, 0.33791524f, 0.44070983f, 0.562617f, 0.72295684f, 1.0f};

template <typename T> __device__ __forceinline__ T from_f32(float v);
template <> __device__ __forceinline__ float from_f32<float>(float v) { return v; }
template <> __device__ __forceinline__ double from_f32<double>(float v) { return (double)v; }
template <> __device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v) {
    return __float2bfloat16_rn(v);
}
template <> __device__ __forceinline__ __half from_f32<__half>(float v) { return __float2half_rn(v); }

template <typename T>
__device__ void nf4_dequantize(const unsigned char *codes, const signed char *absmax_q,
                               const float *absmax_scale, float offset, T *out, unsigned long long n) {
    unsigned long long byte = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    unsigned long long i = byte * 2;
    if (i >= n) return;
    unsigned char c = codes[byte];
    // A block of 64 never splits a byte, so both weights share one maximum.
    unsigned long long block = i / 64;
    float m = (float)absmax_q[block] * absmax_scale[block / 256] + offset;
    out[i] = from_f32<T>(NF4_LEVELS[c >> 4] * m);
    if (i + 1 < n) out[i + 1] = from_f32<T>(NF4_LEVELS[c & 15] * m);
}

#define NF4_KERNEL(NAME, T)                                                                        \
    extern "C" __global__ void NAME(const unsigned char *codes, const signed char *absmax_q,      \
                                    const float *absmax_scale, float offset, T *out,              \
                                    unsigned long long n) {                                       \
        nf4_dequantize<T>(codes, absmax_q, absmax_scale, offset, out, n);                         \
    }

NF4_KERNEL(nf4_dequantize_f32, float)
NF4_KERNEL(nf4_dequantize_f64, double)
NF4_KERNEL(nf4_dequantize_bf16, __nv_bfloat16)
NF4_KERNEL(nf4_dequantize_f16, __half)
