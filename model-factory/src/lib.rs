//! ModelFactory: Tributary's training engine. Pure computation on candle; knows nothing of the chain.
//!
//! - [`ops`]: differentiable norms, softmax, rotary embedding and masks (candle's fused kernels have no
//!   backward; these are gradient-checked in f64).
//! - [`lora`]: LoRA layers in PEFT's conventions (init, scale, rsLoRA, dropout, merge/unmerge).
//! - [`llama`]: the LLaMA-architecture decoder (LLaMA incl. Llama 3 rope scaling, Mistral's sliding
//!   window, Qwen2's q/k/v biases; DeepSeek's llama-architecture models), loading Hugging Face names.
//! - [`gpt2`]: GPT-2 (Conv1D weights transposed on load, learned positions, LayerNorm, gelu_new).
//! - [`adapter`]: PEFT-layout adapter files.
//! - [`train`]: the training loop; [`generate`]: KV-cache generation (LLaMA-architecture models).
//!
//! Still to come (issue 4): BLOOM, GLM-4 and Qwen3; one model trait so training and generation serve
//! every family (GPT-2 has no cache yet); NF4/QLoRA; tokenizers and chat templates; the CLI; PEFT
//! reference fixtures and the benchmark.

pub mod adapter;
pub mod bloom;
pub mod chat;
pub mod generate;
pub mod gguf;
pub mod glm;
pub mod gpt2;
pub mod llama;
pub mod lora;
pub mod model;
pub mod nf4;
pub mod ops;
#[cfg(test)]
mod reference_tests;
#[cfg(test)]
mod testutil;
pub mod train;
pub mod weights;

pub use model::{load, Cache, CausalLm, Family};
