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
//! - [`train`], [`generate`], [`chat`]: the training loop, KV-cache generation, chat templates.
//!
//! See docs/model-factory.md; the reference tests match transformers + PEFT on every family.

pub mod adapter;
pub mod bloom;
pub mod chat;
pub mod data;
pub mod generate;
pub mod gguf;
pub mod glm;
pub mod gpt2;
pub mod llama;
pub mod lora;
pub mod merge;
pub mod model;
pub mod nf4;
pub mod ops;
pub mod optim;
pub mod pretrained;
#[cfg(test)]
mod reference_tests;
#[cfg(test)]
mod testutil;
pub mod train;
pub mod weights;

pub use model::{load, Cache, CausalLm, Family};
