//! The blob exchange wire protocol, `/tributary/blob/3`: one request and one response per substream,
//! each a big-endian u32 length followed by the SCALE encoding of the message.
//!
//! Large blobs never travel as one message: a fetcher asks for the outboard, then for runs of up to
//! [`MAX_RUN`] consecutive 1 MiB groups (see [`crate::tree`]), so message sizes stay bounded whatever
//! the blob's size. (Version 1 asked for one group per request; each request costs a substream, a
//! protocol negotiation and ~15 small frames, ~200 us of CPU on loopback, so runs amortise it.
//! Version 3 adds the [`Voucher`] to a push.)

use crate::pool::GroupBuf;
use crate::tree::{Hash, Outboard, GROUP_LEN};
use async_trait::async_trait;
use codec::{Compact, Decode, Encode};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use std::io;

pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/tributary/blob/3");
/// Largest request accepted (requests are a hash and a few integers).
pub const MAX_REQUEST: usize = 1024;
/// Largest response accepted: a run of groups, or an outboard of up to 256 GiB of content.
pub const MAX_RESPONSE: usize = 8 << 20 | 4096;
/// Most groups asked for in one request.
pub const MAX_RUN: u32 = 4;
// A full run: the variant, the compact count, and each group's compact length and bytes.
const _: () = assert!(MAX_RUN as usize * (GROUP_LEN as usize + 5) + 16 <= MAX_RESPONSE);

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum BlobRequest {
	/// The blob's outboard (size and group hashes).
	Outboard(Hash),
	/// Groups `first .. first + count` (1 to [`MAX_RUN`] of them).
	Groups { hash: Hash, first: u64, count: u32 },
	/// "Please fetch this blob from me and keep it": the upload path, for content an on-chain
	/// record declares (see [`crate::admission`]). Answered with [`BlobResponse::PushAccepted`]
	/// once taken; the pusher then polls with [`BlobRequest::Has`].
	Push { hash: Hash, size: u64, voucher: Voucher },
	/// Whether the peer holds the complete blob.
	Has(Hash),
}

/// The on-chain record that declares a pushed blob: the receiver checks it declares this hash and
/// size before it spends anything on the push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub enum Voucher {
	/// A pending contribution, by id.
	Contribution(u64),
	/// A registered base model (one of its files), by id.
	BaseModel(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum BlobResponse {
	Outboard(Outboard),
	/// The groups asked for, in order: all of them, or the ones before the first this peer could not
	/// read back intact.
	Groups(Vec<GroupBuf>),
	NotFound,
	PushAccepted,
	Have {
		complete: bool,
		pinned: bool,
	},
	/// The peer will not do what was asked; the text says why.
	Refused(String),
}

#[derive(Debug, Clone, Copy, Default)]
pub struct BlobCodec;

async fn read_frame<T: AsyncRead + Unpin + Send, M: Decode>(
	io: &mut T,
	max: usize,
) -> io::Result<M> {
	let len = read_len(io, max).await?;
	let mut buf = vec![0u8; len];
	io.read_exact(&mut buf).await?;
	decode_all(&buf)
}

async fn read_len<T: AsyncRead + Unpin + Send>(io: &mut T, max: usize) -> io::Result<usize> {
	let mut len = [0u8; 4];
	io.read_exact(&mut len).await?;
	let len = u32::from_be_bytes(len) as usize;
	if len > max {
		return Err(invalid(format!("message of {len} bytes exceeds the {max}-byte limit")));
	}
	Ok(len)
}

fn decode_all<M: Decode>(mut bytes: &[u8]) -> io::Result<M> {
	let m = M::decode(&mut bytes).map_err(|e| invalid(e.to_string()))?;
	if !bytes.is_empty() {
		return Err(invalid(format!("{} bytes left over after the message", bytes.len())));
	}
	Ok(m)
}

/// A message that breaks this protocol (too long, does not decode, bytes left over): proof that
/// the sender is not an honest peer. Transport failures never are one, even when they too are
/// `InvalidData` (a TLS record that fails to decrypt on a connection cut short, say).
#[derive(Debug)]
pub struct ProtocolViolation(pub String);

impl std::fmt::Display for ProtocolViolation {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str(&self.0)
	}
}

impl std::error::Error for ProtocolViolation {}

/// Whether a codec error is a [`ProtocolViolation`] (rather than a transport failure).
pub fn is_violation(e: &io::Error) -> bool {
	e.get_ref().is_some_and(|inner| inner.is::<ProtocolViolation>())
}

fn invalid(msg: String) -> io::Error {
	io::Error::new(io::ErrorKind::InvalidData, ProtocolViolation(msg))
}

async fn write_frame<T: AsyncWrite + Unpin + Send, M: Encode>(
	io: &mut T,
	msg: &M,
) -> io::Result<()> {
	let body = msg.encode();
	io.write_all(&(body.len() as u32).to_be_bytes()).await?;
	io.write_all(&body).await
	// The request-response handler closes the stream after this.
}

/// The SCALE variant index of `BlobResponse::Groups`.
fn groups_tag() -> u8 {
	BlobResponse::Groups(Vec::new()).encode()[0]
}

/// Group responses (nearly all the bytes this protocol moves) skip the SCALE buffer on both sides: the
/// variant, counts and lengths are written and parsed here, and each group's bytes go straight between
/// the stream and the group's own buffer. The bytes on the wire are exactly `write_frame`'s (tested).
async fn write_response_frame<T: AsyncWrite + Unpin + Send>(
	io: &mut T,
	r: &BlobResponse,
) -> io::Result<()> {
	let BlobResponse::Groups(groups) = r else { return write_frame(io, r).await };
	let body: usize = Compact(groups.len() as u32).encoded_size()
		+ groups.iter().map(|g| Compact(g.len() as u32).encoded_size() + g.len()).sum::<usize>();
	let mut head = ((1 + body) as u32).to_be_bytes().to_vec();
	head.push(groups_tag());
	Compact(groups.len() as u32).encode_to(&mut head);
	for g in groups {
		Compact(g.len() as u32).encode_to(&mut head);
		io.write_all(&head).await?;
		io.write_all(g).await?;
		head.clear();
	}
	if !head.is_empty() {
		io.write_all(&head).await?;
	}
	Ok(())
}

/// Reads a SCALE compact integer below 2^30 (1, 2 or 4 bytes, as the low two bits of its first byte
/// say); the big-integer form is refused. Returns the value and its width.
async fn read_compact<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<(usize, usize)> {
	let mut compact = [0u8; 4];
	io.read_exact(&mut compact[..1]).await?;
	let width = match compact[0] & 3 {
		0 => 1,
		1 => 2,
		2 => 4,
		_ => return Err(invalid("length out of range".into())),
	};
	io.read_exact(&mut compact[1..width]).await?;
	let n = Compact::<u32>::decode(&mut &compact[..width]).map_err(|e| invalid(e.to_string()))?.0;
	Ok((n as usize, width))
}

async fn read_response_frame<T: AsyncRead + Unpin + Send>(
	io: &mut T,
	max: usize,
) -> io::Result<BlobResponse> {
	let len = read_len(io, max).await?;
	if len == 0 {
		return Err(invalid("empty message".into()));
	}
	let mut tag = [0u8; 1];
	io.read_exact(&mut tag).await?;
	if tag[0] != groups_tag() {
		let mut buf = vec![0u8; len];
		buf[0] = tag[0];
		io.read_exact(&mut buf[1..]).await?;
		return decode_all(&buf);
	}
	let (count, width) = read_compact(io).await?;
	if count > MAX_RUN as usize {
		return Err(invalid(format!("a run of {count} groups (at most {MAX_RUN})")));
	}
	let mut used = 1 + width;
	let mut groups = Vec::with_capacity(count);
	for _ in 0..count {
		let (n, width) = read_compact(io).await?;
		used += width + n;
		if used > len {
			return Err(invalid(format!("groups overrun a message of {len} bytes")));
		}
		let mut bytes = crate::pool::take(n);
		io.read_exact(&mut bytes).await?;
		groups.push(bytes);
	}
	if used != len {
		return Err(invalid(format!("{} bytes left over after the groups", len - used)));
	}
	Ok(BlobResponse::Groups(groups))
}

#[async_trait]
impl libp2p::request_response::Codec for BlobCodec {
	type Protocol = StreamProtocol;
	type Request = BlobRequest;
	type Response = BlobResponse;

	async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<BlobRequest>
	where
		T: AsyncRead + Unpin + Send,
	{
		read_frame(io, MAX_REQUEST).await
	}

	async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<BlobResponse>
	where
		T: AsyncRead + Unpin + Send,
	{
		read_response_frame(io, MAX_RESPONSE).await
	}

	async fn write_request<T>(
		&mut self,
		_: &StreamProtocol,
		io: &mut T,
		r: BlobRequest,
	) -> io::Result<()>
	where
		T: AsyncWrite + Unpin + Send,
	{
		write_frame(io, &r).await
	}

	async fn write_response<T>(
		&mut self,
		_: &StreamProtocol,
		io: &mut T,
		r: BlobResponse,
	) -> io::Result<()>
	where
		T: AsyncWrite + Unpin + Send,
	{
		// The groups' buffers go back to the pool when `r` is dropped.
		write_response_frame(io, &r).await
	}
}

/// Small messages on the gossipsub topic [`ANNOUNCE_TOPIC`]. Never content.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Announcement {
	/// The sender now holds (and provides) this blob.
	Have { hash: Hash, size: u64 },
}

pub const ANNOUNCE_TOPIC: &str = "tributary/announce/1";

#[cfg(test)]
mod tests {
	use super::*;
	use libp2p::request_response::Codec;

	#[test]
	fn frames_round_trip_and_oversized_frames_are_refused() {
		futures::executor::block_on(async {
			let mut c = BlobCodec;
			let mut buf = Vec::new();
			let resp = BlobResponse::Groups(vec![vec![7u8; 1000].into(), vec![8u8; 10].into()]);
			c.write_response(&PROTOCOL, &mut buf, resp.clone()).await.unwrap();
			let got = c.read_response(&PROTOCOL, &mut &buf[..]).await.unwrap();
			assert_eq!(got, resp);

			// A request frame claiming more than MAX_REQUEST bytes is refused before allocation.
			let mut big = ((MAX_REQUEST + 1) as u32).to_be_bytes().to_vec();
			big.extend(vec![0u8; MAX_REQUEST + 1]);
			let err = c.read_request(&PROTOCOL, &mut &big[..]).await.unwrap_err();
			assert!(err.to_string().contains("exceeds"), "{err}");

			// No message grows with the blob beyond these: a 1 GiB blob's outboard (1024 group hashes)
			// and a full run of full groups both fit the response limit, with room to spare up to
			// 256 GiB.
			for groups in [1024u64, 256 * 1024] {
				let ob = Outboard { size: groups * GROUP_LEN, cvs: vec![[7; 32]; groups as usize] };
				assert!(BlobResponse::Outboard(ob).encode().len() + 4 <= MAX_RESPONSE);
			}
			let run =
				BlobResponse::Groups(vec![vec![0; GROUP_LEN as usize].into(); MAX_RUN as usize]);
			assert!(run.encode().len() + 4 <= MAX_RESPONSE);
			let mut buf = Vec::new();
			c.write_response(&PROTOCOL, &mut buf, run.clone()).await.unwrap();
			assert_eq!(c.read_response(&PROTOCOL, &mut &buf[..]).await.unwrap(), run);

			// Runs take the direct path; their frames are byte for byte the generic encoding, for
			// every width of the compact lengths (1, 2 and 4 bytes) and runs of 0 to 4 groups, and
			// they read back.
			let sizes = [0usize, 1, 63, 64, 16383, 16384, GROUP_LEN as usize];
			for (k, n) in sizes.iter().enumerate() {
				let groups = (0..k % (MAX_RUN as usize + 1))
					.map(|j| (0..n + j).map(|i| (i * 7 + n + j) as u8).collect::<Vec<_>>().into())
					.collect();
				let resp = BlobResponse::Groups(groups);
				let mut direct = Vec::new();
				c.write_response(&PROTOCOL, &mut direct, resp.clone()).await.unwrap();
				let mut generic = Vec::new();
				write_frame(&mut generic, &resp).await.unwrap();
				assert_eq!(direct, generic, "run {k} of groups from {n} bytes");
				assert_eq!(c.read_response(&PROTOCOL, &mut &direct[..]).await.unwrap(), resp);
				// Cut anywhere, the frame is an error.
				for cut in [1, 4, 5, 6, direct.len() / 2, direct.len() - 1] {
					if cut < direct.len() {
						assert!(c.read_response(&PROTOCOL, &mut &direct[..cut]).await.is_err());
					}
				}
			}
			// Groups that overrun their frame, or leave bytes over in it, or a run longer than
			// MAX_RUN, are refused.
			let three = BlobResponse::Groups(vec![vec![1, 2, 3].into()]);
			let mut short = Vec::new();
			write_frame(&mut short, &three).await.unwrap();
			short[3] -= 1;
			let err = c.read_response(&PROTOCOL, &mut &short[..]).await.unwrap_err();
			assert!(err.to_string().contains("overrun a message of"), "{err}");
			let mut lying = Vec::new();
			write_frame(&mut lying, &three).await.unwrap();
			lying[3] += 1;
			lying.push(0);
			let err = c.read_response(&PROTOCOL, &mut &lying[..]).await.unwrap_err();
			assert!(err.to_string().contains("1 bytes left over after the groups"), "{err}");
			let mut long = Vec::new();
			let five = BlobResponse::Groups(vec![vec![1].into(); MAX_RUN as usize + 1]);
			write_frame(&mut long, &five).await.unwrap();
			let err = c.read_response(&PROTOCOL, &mut &long[..]).await.unwrap_err();
			assert!(err.to_string().contains("a run of 5 groups"), "{err}");
			let mut trailing = Vec::new();
			write_frame(&mut trailing, &BlobResponse::NotFound).await.unwrap();
			trailing[3] += 1;
			trailing.push(9);
			let err = c.read_response(&PROTOCOL, &mut &trailing[..]).await.unwrap_err();
			assert!(err.to_string().contains("left over"), "{err}");

			// A truncated frame is an error, not a short message; a cut stream is no proof of a
			// lie, while a frame that breaks the protocol is.
			let mut cut = Vec::new();
			c.write_request(&PROTOCOL, &mut cut, BlobRequest::Has([1; 32])).await.unwrap();
			cut.pop();
			let err = c.read_request(&PROTOCOL, &mut &cut[..]).await.unwrap_err();
			assert!(!is_violation(&err), "{err}");
			let err = c.read_request(&PROTOCOL, &mut &big[..]).await.unwrap_err();
			assert!(is_violation(&err), "{err}");
			let tls = io::Error::new(io::ErrorKind::InvalidData, "received corrupt message");
			assert!(!is_violation(&tls));
		});
	}

	/// Seeded mutations of valid frames (bit flips, truncations, lengths and counts rewritten,
	/// random bytes spliced in) through every decoder a peer's bytes reach: the request and
	/// response codecs and the outboard. None may panic or accept a frame over its limit, and an
	/// outboard that decodes either verifies against its hash or is refused. 20,000 rounds by
	/// default (a second or two); `TRIBUTARY_FUZZ_ROUNDS` for more.
	#[test]
	fn the_wire_decoders_survive_mutated_frames() {
		use rand::{Rng, SeedableRng};
		let rounds: usize = std::env::var("TRIBUTARY_FUZZ_ROUNDS")
			.ok()
			.and_then(|s| s.parse().ok())
			.unwrap_or(20_000);
		let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_b10b);
		let data: Vec<u8> =
			(0..3 * GROUP_LEN as usize + 99).map(|i| (i * 31 % 251) as u8).collect();
		let ob = Outboard::of_bytes(&data);
		let root = ob.root().unwrap();
		let requests = [
			BlobRequest::Outboard(root),
			BlobRequest::Groups { hash: root, first: 2, count: 4 },
			BlobRequest::Push { hash: root, size: 77, voucher: Voucher::Contribution(9) },
			BlobRequest::Push { hash: root, size: 77, voucher: Voucher::BaseModel(3) },
			BlobRequest::Has(root),
		];
		let responses = [
			BlobResponse::Outboard(ob.clone()),
			BlobResponse::Groups(vec![vec![7u8; 300].into(), vec![1u8; 5].into()]),
			BlobResponse::NotFound,
			BlobResponse::PushAccepted,
			BlobResponse::Have { complete: true, pinned: false },
			BlobResponse::Refused("no".into()),
		];
		let frame = |body: Vec<u8>| {
			let mut f = (body.len() as u32).to_be_bytes().to_vec();
			f.extend(body);
			f
		};
		let seeds: Vec<(bool, Vec<u8>)> = requests
			.iter()
			.map(|r| (true, frame(r.encode())))
			.chain(responses.iter().map(|r| (false, frame(r.encode()))))
			.collect();
		futures::executor::block_on(async {
			let mut c = BlobCodec;
			for round in 0..rounds {
				let (is_request, seed) = &seeds[round % seeds.len()];
				let mut f = seed.clone();
				for _ in 0..rng.gen_range(1..4) {
					match rng.gen_range(0..5) {
						0 => {
							let i = rng.gen_range(0..f.len());
							f[i] ^= 1 << rng.gen_range(0..8);
						}
						1 => f.truncate(rng.gen_range(0..f.len())),
						2 if f.len() > 4 => {
							// A length or count rewritten: anywhere, to anything.
							let i = rng.gen_range(0..f.len() - 3);
							let v: u32 = rng.gen();
							f[i..i + 4].copy_from_slice(&v.to_le_bytes());
						}
						3 => {
							let i = rng.gen_range(0..=f.len());
							let junk: Vec<u8> =
								(0..rng.gen_range(1..64)).map(|_| rng.gen()).collect();
							f.splice(i..i, junk);
						}
						_ => {
							let i = rng.gen_range(0..f.len());
							f[i] = rng.gen();
						}
					}
					if f.is_empty() {
						f.push(0);
					}
				}
				if *is_request {
					if let Ok(r) = c.read_request(&PROTOCOL, &mut &f[..]).await {
						assert!(r.encode().len() <= MAX_REQUEST, "round {round}");
					}
				} else if let Ok(r) = c.read_response(&PROTOCOL, &mut &f[..]).await {
					assert!(r.encode().len() + 4 <= MAX_RESPONSE, "round {round}");
					if let BlobResponse::Groups(g) = &r {
						assert!(g.len() <= MAX_RUN as usize, "round {round}");
					}
					if let BlobResponse::Outboard(got) = r {
						// Decoded: its group hashes are the true ones, or it does not verify. (Its
						// size may differ and still verify: the last group binds it; see `fetch`.)
						assert!(got.cvs == ob.cvs || got.verify(&root).is_err(), "round {round}");
						if got != ob {
							let _ = got.root();
							let _ = got.verify_group(got.groups().saturating_sub(1), &[1, 2, 3]);
						}
					}
				}
				let _ = Outboard::decode(&mut &f[..]);
			}
		});
	}
}
