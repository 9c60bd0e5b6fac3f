//! The blob exchange wire protocol, `/tributary/blob/1`: one request and one response per substream,
//! each a big-endian u32 length followed by the SCALE encoding of the message.
//!
//! Large blobs never travel as one message: a fetcher asks for the outboard, then for each 1 MiB group
//! (see [`crate::tree`]), so message sizes stay bounded whatever the blob's size.

use crate::tree::{Hash, Outboard, GROUP_LEN};
use async_trait::async_trait;
use codec::{Compact, Decode, Encode};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use std::io;

pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/tributary/blob/1");
/// Largest request accepted (requests are a hash and a few integers).
pub const MAX_REQUEST: usize = 1024;
/// Largest response accepted: a whole group, or an outboard of up to 256 GiB of content.
pub const MAX_RESPONSE: usize = 8 << 20 | 4096;
const _: () = assert!(GROUP_LEN as usize + 64 <= MAX_RESPONSE);

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum BlobRequest {
	/// The blob's outboard (size and group hashes).
	Outboard(Hash),
	/// One group's bytes.
	Group { hash: Hash, index: u64 },
	/// "Please fetch this blob from me and keep it": the upload path. Answered at once with
	/// [`BlobResponse::PushAccepted`]; the pusher then polls with [`BlobRequest::Has`].
	Push { hash: Hash, size: u64 },
	/// Whether the peer holds the complete blob.
	Has(Hash),
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum BlobResponse {
	Outboard(Outboard),
	Group(Vec<u8>),
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

fn invalid(msg: String) -> io::Error {
	io::Error::new(io::ErrorKind::InvalidData, msg)
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

/// The SCALE prefix of `BlobResponse::Group` with `n` bytes: the variant index, then `Compact(n)`.
fn group_prefix(n: usize) -> Vec<u8> {
	let mut p = BlobResponse::Group(Vec::new()).encode();
	p.truncate(1);
	Compact(n as u32).encode_to(&mut p);
	p
}

/// Group responses (nearly all the bytes this protocol moves) skip the SCALE buffer on both sides: the
/// prefix is written and parsed here and the group's bytes go straight between the stream and the
/// group's own buffer. The bytes on the wire are exactly `write_frame`'s (tested).
async fn write_response_frame<T: AsyncWrite + Unpin + Send>(
	io: &mut T,
	r: &BlobResponse,
) -> io::Result<()> {
	let BlobResponse::Group(bytes) = r else { return write_frame(io, r).await };
	let prefix = group_prefix(bytes.len());
	let mut head = ((prefix.len() + bytes.len()) as u32).to_be_bytes().to_vec();
	head.extend_from_slice(&prefix);
	io.write_all(&head).await?;
	io.write_all(bytes).await
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
	if tag[0] != group_prefix(0)[0] {
		let mut buf = vec![0u8; len];
		buf[0] = tag[0];
		io.read_exact(&mut buf[1..]).await?;
		return decode_all(&buf);
	}
	// A compact length is 1, 2 or 4 bytes for anything below 2^30, as the low two bits of its first
	// byte say; a group is at most MAX_RESPONSE, so the big-integer form is refused.
	let mut compact = [0u8; 4];
	io.read_exact(&mut compact[..1]).await?;
	let width = match compact[0] & 3 {
		0 => 1,
		1 => 2,
		2 => 4,
		_ => return Err(invalid("group length out of range".into())),
	};
	io.read_exact(&mut compact[1..width]).await?;
	let n = Compact::<u32>::decode(&mut &compact[..width]).map_err(|e| invalid(e.to_string()))?.0
		as usize;
	if 1 + width + n != len {
		return Err(invalid(format!("a group of {n} bytes in a message of {len}")));
	}
	let mut bytes = crate::pool::take(n);
	io.read_exact(&mut bytes).await?;
	Ok(BlobResponse::Group(bytes))
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
		write_response_frame(io, &r).await?;
		if let BlobResponse::Group(bytes) = r {
			crate::pool::give(bytes);
		}
		Ok(())
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
			let resp = BlobResponse::Group(vec![7u8; 1000]);
			c.write_response(&PROTOCOL, &mut buf, resp.clone()).await.unwrap();
			let got = c.read_response(&PROTOCOL, &mut &buf[..]).await.unwrap();
			assert_eq!(got, resp);

			// A request frame claiming more than MAX_REQUEST bytes is refused before allocation.
			let mut big = ((MAX_REQUEST + 1) as u32).to_be_bytes().to_vec();
			big.extend(vec![0u8; MAX_REQUEST + 1]);
			let err = c.read_request(&PROTOCOL, &mut &big[..]).await.unwrap_err();
			assert!(err.to_string().contains("exceeds"), "{err}");

			// No message grows with the blob beyond these: a 1 GiB blob's outboard (1024 group hashes)
			// and one full group both fit the response limit, with room to spare up to 256 GiB.
			for groups in [1024u64, 256 * 1024] {
				let ob = Outboard { size: groups * GROUP_LEN, cvs: vec![[7; 32]; groups as usize] };
				assert!(BlobResponse::Outboard(ob).encode().len() + 4 <= MAX_RESPONSE);
			}
			let group = BlobResponse::Group(vec![0; GROUP_LEN as usize]);
			assert!(group.encode().len() + 4 <= MAX_RESPONSE);

			// Groups take the direct path; their frames are byte for byte the generic encoding, for
			// every width of the compact length (1, 2 and 4 bytes), and they read back.
			for n in [0usize, 1, 63, 64, 16383, 16384, GROUP_LEN as usize] {
				let resp = BlobResponse::Group((0..n).map(|i| (i * 7 + n) as u8).collect());
				let mut direct = Vec::new();
				c.write_response(&PROTOCOL, &mut direct, resp.clone()).await.unwrap();
				let mut generic = Vec::new();
				write_frame(&mut generic, &resp).await.unwrap();
				assert_eq!(direct, generic, "group of {n} bytes");
				assert_eq!(c.read_response(&PROTOCOL, &mut &direct[..]).await.unwrap(), resp);
				// Cut anywhere, the frame is an error.
				for cut in [1, 4, 5, direct.len() - 1] {
					if cut < direct.len() {
						assert!(c.read_response(&PROTOCOL, &mut &direct[..cut]).await.is_err());
					}
				}
			}
			// A group whose length disagrees with its frame, or a frame with bytes after its message,
			// is refused.
			let mut lying = Vec::new();
			write_frame(&mut lying, &BlobResponse::Group(vec![1, 2, 3])).await.unwrap();
			lying[3] += 1;
			lying.push(0);
			let err = c.read_response(&PROTOCOL, &mut &lying[..]).await.unwrap_err();
			assert!(err.to_string().contains("a group of 3 bytes in a message of"), "{err}");
			let mut trailing = Vec::new();
			write_frame(&mut trailing, &BlobResponse::NotFound).await.unwrap();
			trailing[3] += 1;
			trailing.push(9);
			let err = c.read_response(&PROTOCOL, &mut &trailing[..]).await.unwrap_err();
			assert!(err.to_string().contains("left over"), "{err}");

			// A truncated frame is an error, not a short message.
			let mut cut = Vec::new();
			c.write_request(&PROTOCOL, &mut cut, BlobRequest::Has([1; 32])).await.unwrap();
			cut.pop();
			assert!(c.read_request(&PROTOCOL, &mut &cut[..]).await.is_err());
		});
	}
}
