//! ModelFactory: Tributary's training engine. Pure computation on candle; knows nothing of the chain.
//!
//! - [`ops`]: differentiable norms, softmax, rotary embedding and masks (candle's fused kernels have no
//!   backward; these are gradient-checked in f64).
//! - [`lora`]: LoRA layers in PEFT's conventions (init, scale, rsLoRA, dropout, merge/unmerge).
//! - [`llama`]: the LLaMA-architecture decoder (LLaMA incl. Llama 3 rope scaling, Mistral's sliding
//!   window, Qwen2's q/k/v biases; DeepSeek's llama-architecture models), loading Hugging Face names.
//! - [`adapter`]: PEFT-layout adapter files.
//!
//! Still to come (issue 4): the other families (BLOOM, GPT-2, ChatGLM/GLM-4, Qwen3), KV-cache
//! generation, NF4/QLoRA, the training loop, tokenizers and chat templates, the CLI, PEFT reference
//! fixtures and the benchmark.

pub mod adapter;
pub mod generate;
pub mod llama;
pub mod lora;
pub mod ops;
pub mod train;
