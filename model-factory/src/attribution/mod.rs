//! Training-data attribution: which training examples (and so which contributions) shaped a
//! trained adapter, measured against targets (the held-out split, or given queries).
//!
//! - [`tap`]: exact per-example gradients of the LoRA parameters from one backward pass per batch,
//!   randomly projected per layer (LoGra-style).
//! - [`recorder`]: TracIn over checkpoints, logged during training, with an optional damped
//!   block-diagonal preconditioner ([`precondition`]).
//! - [`table`]: scores per example and per contribution, and the parts-per-million split.
//! - [`spans`]: exact-span attribution: the parts of a model's answer its training text holds word
//!   for word, with their contributions (suffix array).
//! - [`influence`]: which contributions a trained model's answer owes most to (gradient
//!   similarity at the final weights, built from the adapter and the training text alone).
//!
//! docs/attribution.md gives the formulas.

pub mod influence;
pub mod precondition;
pub mod recorder;
pub mod spans;
pub mod table;
pub mod tap;

pub use recorder::{AttributionConfig, Recorder, Target};
pub use table::{parts_per_million, SourceScore, Table};

#[cfg(test)]
mod tests;
