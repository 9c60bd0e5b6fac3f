//! ModelFactory: Tributary's training engine. Pure computation on candle; knows nothing of the chain.
//!
//! - [`model`]: the [`CausalLm`] trait every family implements, the KV cache, and [`load`] for a
//!   Hugging Face folder; [`gguf`] loads llama-architecture GGUF files with their tokenizer.
//! - Families, written here: [`llama`] (LLaMA, Mistral, Qwen2, Qwen3, DeepSeek's llama-architecture
//!   models), [`gpt2`], [`bloom`], [`glm`] (GLM-4, GLM-4-0414).
//! - [`ops`]: differentiable norms, softmax, rotary embeddings, masks and the masked loss (candle's
//!   fused kernels have no backward; these are gradient-checked in f64).
//! - [`lora`] and [`adapter`]: LoRA layers and adapter files in PEFT's conventions; [`nf4`]: 4-bit
//!   NormalFloat weights and the quantized matmul QLoRA trains through.
//! - [`attribution`]: which training examples shaped an adapter (per-example LoRA gradients from
//!   one backward pass, projected; TracIn over checkpoints; parts per million).
//! - [`train`], [`generate`], [`chat`]: the training loop, KV-cache generation, chat templates
//!   ([`tool_calls`] reads the tool calls a template teaches back out of an answer);
//!   [`finetune`]: a whole run (attach, tokenize, split, train, checkpoint, save) in one call.
//!
//! See docs/model-factory.md; the reference tests match transformers + PEFT on every family.

pub mod adapter;
pub mod attribution;
#[cfg(test)]
mod batch_tests;
pub mod blas;
pub mod bloom;
#[cfg(test)]
mod cache_tests;
pub mod chat;
#[cfg(feature = "cuda")]
pub mod cuda;
#[cfg(all(test, feature = "cuda"))]
mod cuda_tests;
pub mod data;
pub mod deepseek;
pub mod finetune;
pub mod fused;
pub mod generate;
pub mod gguf;
pub mod glm;
pub mod gpt2;
pub mod llama;
pub mod lora;
pub mod merge;
pub mod model;
pub mod moe;
pub mod multi_lora;
pub mod nf4;
pub mod ops;
pub mod optim;
pub mod pass;
pub mod pretrained;
#[cfg(test)]
mod reference_tests;
#[cfg(test)]
mod testutil;
pub mod tool_calls;
pub mod train;
pub mod weights;

pub use model::{load, Cache, CausalLm, Family};

/// Runs `f` on a rayon worker thread, so that candle's and gemm's parallel loops run on the pool's
/// threads alone: called from an outside thread, that thread would compete with the spinning workers
/// for the same cores (about 7% of a training step on 2 cores).
pub fn on_compute_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
	match rayon::ThreadPoolBuilder::new().build() {
		Ok(pool) => pool.install(f),
		Err(_) => f(),
	}
}

/// Sets the process up for training on the CPU; call once at start-up, before any tensor work.
///
/// - glibc's allocator keeps freed memory for reuse. Training frees and re-allocates tensors of the
///   same sizes every step; by default glibc maps every block over its (adaptive) mmap threshold fresh
///   from the kernel and unmaps it on free, so each step pays for zeroing those pages again (about 8%
///   of a CPU training step on SmolLM2-135M).
/// - candle's own thread pool for elementwise ops spins 25,000 rounds after every op before it
///   parks. Between ops that is a core taken from the BLAS products and the rayon pool: 15% of all
///   samples of a training step, and the step 15 to 20% slower. Unless `CANDLE_BARRIER_POOL_SPIN_LIMIT`
///   is set already, it is set to 200 (read once, when candle starts that pool).
pub fn tune_process_for_training() {
	#[cfg(all(target_os = "linux", target_env = "gnu"))]
	// SAFETY: mallopt only changes allocator parameters; called before heavy allocation starts.
	unsafe {
		libc::mallopt(libc::M_MMAP_THRESHOLD, 16 << 20);
		libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
		libc::mallopt(libc::M_TOP_PAD, 128 << 20);
	}
	if std::env::var_os(CANDLE_SPIN).is_none() {
		std::env::set_var(CANDLE_SPIN, "200");
	}
}

const CANDLE_SPIN: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";
