//! Tributary's data plane.
//!
//! - [`tree`]: BLAKE3 verified chunking; every 1 MiB group checks against the blob's plain BLAKE3 hash.
//! - [`store`]: the content-addressed store on disk (atomic, verified, resumable).
//! - [`budget`]: the store's space: reservations before transfer, eviction.
//! - [`pins`]: who keeps a blob, each holder releasing only its own pin.
//! - [`protocol`]: the blob exchange wire format and gossip announcements.
//! - [`net`]: a libp2p data peer (TCP/QUIC, TLS or noise, yamux, identify, Kademlia, gossipsub).
//! - [`mux`]: yamux with 256 KiB frames (libp2p's adapter sends 16 KiB).
//! - [`tls`]: libp2p's TLS handshake with AES-GCM preferred where the CPU has AES instructions.
//! - [`pool`]: recycled 1 MiB group buffers (no page faults and zeroing per group).
//! - [`providers`]: the DHT's provider records, ours apart from other peers' (bounded).
//! - [`admission`]: who may push what (a voucher the chain backs), quotas, room before transfer.
//! - [`fetch`]: verified, resumable, multi-provider download.
//! - [`upload`]: the pusher's side of the upload path.

pub mod admission;
pub mod budget;
pub mod fetch;
#[cfg(test)]
mod hostile_peer_tests;
pub mod mux;
pub mod net;
pub mod pins;
pub mod pool;
pub mod protocol;
pub mod providers;
pub mod store;
#[cfg(test)]
mod testing;
pub mod tls;
pub mod tree;
pub mod upload;

pub use admission::{Admission, PushLimits, Vouch};
pub use fetch::{fetch, FetchError, FetchOptions, FetchReport};
pub use libp2p::Multiaddr;
pub use net::{load_or_create_identity, DataNode, NetConfig, NodeEvent, PushHandler};
pub use pins::Pins;
pub use protocol::Voucher;
pub use store::{ContentStore, StoreError};
pub use tree::{Hash, Outboard, GROUP_LEN};
pub use upload::{push, upload, PushError};
