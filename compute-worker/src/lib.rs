//! The Tributary compute worker: a data peer (libp2p blob exchange over a content store, taking
//! uploads the chain vouches for, see [`vouch`]) and a curator agent; and the ModelFactory commands (train, chat, merge, inspect). The `tributary-worker`
//! binary wires them to the command line.

pub mod curator;
pub mod factory;
pub mod jobs;
pub mod journal;
pub mod serve;
pub mod timed_check;
pub mod vouch;
