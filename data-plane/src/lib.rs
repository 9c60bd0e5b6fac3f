//! Tributary's data plane.
//!
//! - [`tree`]: BLAKE3 verified chunking; every 1 MiB group checks against the blob's plain BLAKE3 hash.
//! - [`store`]: the content-addressed store on disk (atomic, verified, resumable, budgeted, pinned).
//! - [`protocol`]: the blob exchange wire format and gossip announcements.
//! - [`net`]: a libp2p data peer (TCP/QUIC, TLS or noise, yamux, identify, Kademlia, gossipsub).
//! - [`mux`]: yamux with 256 KiB frames (libp2p's adapter sends 16 KiB).
//! - [`tls`]: libp2p's TLS handshake with AES-GCM preferred where the CPU has AES instructions.
//! - [`pool`]: recycled 1 MiB group buffers (no page faults and zeroing per group).
//! - [`providers`]: the DHT's provider records, ours apart from other peers' (bounded).
//! - [`fetch`]: verified, resumable, multi-provider download, and the upload (push) path.

pub mod fetch;
#[cfg(test)]
mod hostile_peer_tests;
pub mod mux;
pub mod net;
pub mod pool;
pub mod protocol;
pub mod providers;
pub mod store;
pub mod tls;
pub mod tree;

pub use fetch::{fetch, push, upload, FetchError, FetchOptions, FetchReport};
pub use net::{load_or_create_identity, DataNode, NetConfig, NodeEvent};
pub use store::{ContentStore, Pin, StoreError};
pub use tree::{Hash, Outboard, GROUP_LEN};
