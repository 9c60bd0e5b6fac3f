//! Types stored by the workers pallet and read by the pallets that use workers.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{traits::Get, BoundedVec};
use scale_info::TypeInfo;

/// Whether `url` may be a worker's endpoint: `http://` or `https://`, then a non-empty host, all
/// printable ASCII without spaces. Clients open it as given, so nothing in it may be read two ways.
/// (The length bound is the runtime's `MaxEndpointLen`.)
pub fn is_valid_endpoint(url: &[u8]) -> bool {
	match url.strip_prefix(b"https://").or_else(|| url.strip_prefix(b"http://")) {
		Some(rest) => {
			!rest.is_empty() && !rest.starts_with(b"/") && url.iter().all(|b| b.is_ascii_graphic())
		}
		None => false,
	}
}

/// What a worker computes on.
#[derive(
	Clone,
	Copy,
	Encode,
	Decode,
	DecodeWithMemTracking,
	Eq,
	PartialEq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum Device {
	Cpu,
	Cuda,
}

/// What a worker declares it can run. Jobs check it before a claim; a worker that declares more
/// than it has fails the job and loses its lease penalty, so over-declaring costs it.
#[derive(
	Clone,
	Copy,
	Encode,
	Decode,
	DecodeWithMemTracking,
	Eq,
	PartialEq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct Capabilities {
	pub device: Device,
	/// Memory available to training (RAM on CPU, GPU memory on CUDA), MiB.
	pub memory_mib: u32,
	/// Largest base model it will train, in parameters.
	pub max_model_params: u64,
}

/// Whether a worker may take work.
#[derive(
	Clone,
	Copy,
	Encode,
	Decode,
	DecodeWithMemTracking,
	Eq,
	PartialEq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum WorkerStatus<BlockNumber> {
	/// Takes work.
	Active,
	/// Takes no new work; the bond stays held (and slashable) until `until`, then can be withdrawn.
	Unbonding { until: BlockNumber },
}

/// A registered worker.
#[derive(Clone, Encode, Decode, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen)]
#[scale_info(skip_type_params(PeerLen, MaxAddrs, AddrLen))]
pub struct Worker<Balance, BlockNumber, PeerLen, MaxAddrs, AddrLen>
where
	PeerLen: Get<u32>,
	MaxAddrs: Get<u32>,
	AddrLen: Get<u32>,
{
	/// Held under the pallet's `WorkerBond` reason; slashes lower it.
	pub bond: Balance,
	/// The worker's libp2p peer id (its multihash bytes).
	pub peer_id: BoundedVec<u8, PeerLen>,
	/// Multiaddresses (UTF-8 text) where its data peer listens.
	pub addrs: BoundedVec<BoundedVec<u8, AddrLen>, MaxAddrs>,
	pub capabilities: Capabilities,
	pub status: WorkerStatus<BlockNumber>,
	pub registered_at: BlockNumber,
}
