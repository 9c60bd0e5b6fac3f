//! The stream multiplexer: yamux (`/yamux/1.0.0`) over the `yamux` crate, with data frames of up to
//! [`SPLIT_SEND`] bytes where `libp2p::yamux` sends 16 KiB.
//!
//! Why our own adapter: yamux flushes the connection after every frame, and it writes each frame's
//! 12-byte header and its body separately. With 16 KiB frames, a 256 MiB blob became ~16,000 frames,
//! ~32,000 TLS records and as many socket writes, and the kernel's per-segment work on them was the
//! largest item in the transfer's CPU profile. `libp2p::yamux::Config` (0.46) does not expose the
//! frame size, so this module configures the `yamux` crate itself and adapts it to libp2p.
//!
//! Wire compatibility: the frame size is the sender's choice. A frame never exceeds the stream's send
//! window (256 KiB at first), and receivers accept frames up to their window: rust-yamux's limit
//! is 1 MiB. Tests check that this adapter and `libp2p::yamux` talk to each other both ways.

use futures::{AsyncRead, AsyncWrite};
use libp2p::core::muxing::{StreamMuxer, StreamMuxerEvent};
use libp2p::core::upgrade::{InboundConnectionUpgrade, OutboundConnectionUpgrade, UpgradeInfo};
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// The largest data frame we send: a whole initial stream window.
pub const SPLIT_SEND: usize = 256 << 10;
/// Inbound streams opened by the remote and not yet taken by the swarm; more are refused (dropped).
const MAX_PENDING_INBOUND: usize = 256;

/// The multiplexer upgrade: pass `mux::Config::default` to `SwarmBuilder::with_tcp`.
#[derive(Debug, Clone)]
pub struct Config(yamux::Config);

impl Default for Config {
	fn default() -> Self {
		let mut cfg = yamux::Config::default();
		cfg.set_split_send_size(SPLIT_SEND);
		// As libp2p's adapter does: a stream the remote closed yields no more data.
		cfg.set_read_after_close(false);
		Self(cfg)
	}
}

impl UpgradeInfo for Config {
	type Info = &'static str;
	type InfoIter = std::iter::Once<Self::Info>;

	fn protocol_info(&self) -> Self::InfoIter {
		std::iter::once("/yamux/1.0.0")
	}
}

impl<C> InboundConnectionUpgrade<C> for Config
where
	C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
	type Output = Muxer<C>;
	type Error = std::io::Error;
	type Future = futures::future::Ready<Result<Self::Output, Self::Error>>;

	fn upgrade_inbound(self, socket: C, _: Self::Info) -> Self::Future {
		futures::future::ok(Muxer::new(yamux::Connection::new(socket, self.0, yamux::Mode::Server)))
	}
}

impl<C> OutboundConnectionUpgrade<C> for Config
where
	C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
	type Output = Muxer<C>;
	type Error = std::io::Error;
	type Future = futures::future::Ready<Result<Self::Output, Self::Error>>;

	fn upgrade_outbound(self, socket: C, _: Self::Info) -> Self::Future {
		futures::future::ok(Muxer::new(yamux::Connection::new(socket, self.0, yamux::Mode::Client)))
	}
}

/// A yamux connection as libp2p's [`StreamMuxer`].
///
/// yamux only makes progress (reads frames, writes queued ones) while its inbound side is polled, and
/// libp2p polls [`StreamMuxer::poll`] continually but [`StreamMuxer::poll_inbound`] only when it
/// wants a stream. So `poll` drives the connection and parks the streams it yields until
/// `poll_inbound` takes them.
#[derive(Debug)]
pub struct Muxer<C> {
	conn: yamux::Connection<C>,
	pending: VecDeque<yamux::Stream>,
	inbound_waker: Option<Waker>,
}

impl<C: AsyncRead + AsyncWrite + Unpin> Muxer<C> {
	fn new(conn: yamux::Connection<C>) -> Self {
		Self { conn, pending: VecDeque::new(), inbound_waker: None }
	}

	/// Drives the connection until it yields the next inbound stream.
	fn next_inbound(
		&mut self,
		cx: &mut Context<'_>,
	) -> Poll<Result<yamux::Stream, yamux::ConnectionError>> {
		match self.conn.poll_next_inbound(cx) {
			Poll::Ready(Some(r)) => Poll::Ready(r),
			Poll::Ready(None) => Poll::Ready(Err(yamux::ConnectionError::Closed)),
			Poll::Pending => Poll::Pending,
		}
	}
}

impl<C: AsyncRead + AsyncWrite + Unpin> StreamMuxer for Muxer<C> {
	type Substream = yamux::Stream;
	type Error = yamux::ConnectionError;

	fn poll_inbound(
		self: Pin<&mut Self>,
		cx: &mut Context<'_>,
	) -> Poll<Result<Self::Substream, Self::Error>> {
		let this = self.get_mut();
		if let Some(s) = this.pending.pop_front() {
			return Poll::Ready(Ok(s));
		}
		if let Poll::Ready(r) = this.next_inbound(cx) {
			return Poll::Ready(r);
		}
		this.inbound_waker = Some(cx.waker().clone());
		Poll::Pending
	}

	fn poll_outbound(
		self: Pin<&mut Self>,
		cx: &mut Context<'_>,
	) -> Poll<Result<Self::Substream, Self::Error>> {
		self.get_mut().conn.poll_new_outbound(cx)
	}

	fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
		self.get_mut().conn.poll_close(cx)
	}

	fn poll(
		self: Pin<&mut Self>,
		cx: &mut Context<'_>,
	) -> Poll<Result<StreamMuxerEvent, Self::Error>> {
		let this = self.get_mut();
		loop {
			let stream = match this.next_inbound(cx) {
				Poll::Ready(Ok(s)) => s,
				Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
				Poll::Pending => return Poll::Pending,
			};
			if this.pending.len() >= MAX_PENDING_INBOUND {
				tracing::warn!(
					"dropping inbound stream {stream}: {MAX_PENDING_INBOUND} already wait"
				);
				continue;
			}
			this.pending.push_back(stream);
			if let Some(w) = this.inbound_waker.take() {
				w.wake();
			}
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use futures::{AsyncReadExt, AsyncWriteExt};
	use libp2p::core::muxing::StreamMuxerExt;
	use libp2p::tcp::tokio::TcpStream;
	use std::sync::{Arc, Mutex};

	/// A socket that records the body length of every yamux data frame it reads.
	struct FrameSpy {
		inner: TcpStream,
		header: Vec<u8>,
		body_left: usize,
		data_frames: Arc<Mutex<Vec<usize>>>,
	}

	impl FrameSpy {
		fn observe(&mut self, mut bytes: &[u8]) {
			while !bytes.is_empty() {
				if self.body_left > 0 {
					let n = self.body_left.min(bytes.len());
					self.body_left -= n;
					bytes = &bytes[n..];
					continue;
				}
				let n = (12 - self.header.len()).min(bytes.len());
				self.header.extend_from_slice(&bytes[..n]);
				bytes = &bytes[n..];
				if self.header.len() == 12 {
					// version, type (0 = data), flags, stream id, length; only data frames carry a body.
					let len = u32::from_be_bytes(self.header[8..12].try_into().unwrap()) as usize;
					if self.header[1] == 0 {
						self.body_left = len;
						if len > 0 {
							self.data_frames.lock().unwrap().push(len);
						}
					}
					self.header.clear();
				}
			}
		}
	}

	impl AsyncRead for FrameSpy {
		fn poll_read(
			mut self: Pin<&mut Self>,
			cx: &mut Context<'_>,
			buf: &mut [u8],
		) -> Poll<std::io::Result<usize>> {
			let r = Pin::new(&mut self.inner).poll_read(cx, buf);
			if let Poll::Ready(Ok(n)) = r {
				self.observe(&buf[..n]);
			}
			r
		}
	}

	impl AsyncWrite for FrameSpy {
		fn poll_write(
			mut self: Pin<&mut Self>,
			cx: &mut Context<'_>,
			buf: &[u8],
		) -> Poll<std::io::Result<usize>> {
			Pin::new(&mut self.inner).poll_write(cx, buf)
		}
		fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
			Pin::new(&mut self.inner).poll_flush(cx)
		}
		fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
			Pin::new(&mut self.inner).poll_close(cx)
		}
	}

	async fn tcp_pair() -> (TcpStream, TcpStream) {
		let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
		let addr = l.local_addr().unwrap();
		let (a, b) = tokio::join!(tokio::net::TcpStream::connect(addr), l.accept());
		(TcpStream(a.unwrap()), TcpStream(b.unwrap().0))
	}

	/// Drives a muxer on its own task (as the swarm does), handing out its inbound streams.
	fn drive<M>(
		mut m: M,
	) -> (tokio::sync::mpsc::UnboundedSender<()>, tokio::sync::mpsc::UnboundedReceiver<M::Substream>)
	where
		M: StreamMuxer + Unpin + Send + 'static,
		M::Substream: Send + 'static,
		M::Error: std::fmt::Debug,
	{
		let (want_out, mut want_out_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
		let (streams_tx, streams_rx) = tokio::sync::mpsc::unbounded_channel();
		tokio::spawn(futures::future::poll_fn(move |cx| {
			loop {
				let mut progressed = false;
				if let Poll::Ready(Ok(s)) = m.poll_inbound_unpin(cx) {
					let _ = streams_tx.send(s);
					progressed = true;
				}
				if let Poll::Ready(Some(())) = want_out_rx.poll_recv(cx) {
					// Open an outbound stream (yamux opens at once) and hand it out the same way.
					match m.poll_outbound_unpin(cx) {
						Poll::Ready(Ok(s)) => {
							let _ = streams_tx.send(s);
						}
						other => panic!("outbound stream: {:?}", other.map(|r| r.err())),
					}
					progressed = true;
				}
				match m.poll_unpin(cx) {
					Poll::Ready(Err(_)) => return Poll::Ready(()),
					Poll::Ready(Ok(_)) => progressed = true,
					Poll::Pending => {}
				}
				if !progressed {
					return Poll::Pending;
				}
			}
		}));
		(want_out, streams_rx)
	}

	/// Sends `n` bytes from the dialer's side to the listener's side on a new stream, checks them and
	/// returns the data frame sizes the listener's socket saw.
	async fn send_over<D, L>(dialer: D, listener: L, n: usize) -> Vec<usize>
	where
		D: OutboundConnectionUpgrade<TcpStream> + UpgradeInfo<Info = &'static str>,
		L: InboundConnectionUpgrade<FrameSpy> + UpgradeInfo<Info = &'static str>,
		D::Output: StreamMuxer + Unpin + Send + 'static,
		L::Output: StreamMuxer + Unpin + Send + 'static,
		<D::Output as StreamMuxer>::Substream: Send + Unpin + 'static,
		<L::Output as StreamMuxer>::Substream: Send + Unpin + 'static,
		<D::Output as StreamMuxer>::Error: std::fmt::Debug,
		<L::Output as StreamMuxer>::Error: std::fmt::Debug,
		D::Error: std::fmt::Debug,
		L::Error: std::fmt::Debug,
	{
		let (a, b) = tcp_pair().await;
		let frames = Arc::new(Mutex::new(Vec::new()));
		let spy = FrameSpy { inner: b, header: vec![], body_left: 0, data_frames: frames.clone() };
		let (da, la) = futures::join!(
			dialer.upgrade_outbound(a, "/yamux/1.0.0"),
			listener.upgrade_inbound(spy, "/yamux/1.0.0")
		);
		let (open, mut out_streams) = drive(da.unwrap());
		let (_keep, mut in_streams) = drive(la.unwrap());
		open.send(()).unwrap();
		let mut tx = out_streams.recv().await.unwrap();
		let data: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
		let sent = data.clone();
		let writer = tokio::spawn(async move {
			tx.write_all(&sent).await.unwrap();
			tx.close().await.unwrap();
			tx
		});
		let mut rx = in_streams.recv().await.unwrap();
		let mut got = Vec::new();
		rx.read_to_end(&mut got).await.unwrap();
		let _tx = writer.await.unwrap();
		assert!(got == data, "the bytes arrived changed or incomplete ({} of {n})", got.len());
		let frames = frames.lock().unwrap().clone();
		frames
	}

	#[tokio::test]
	async fn streams_carry_large_frames() {
		let frames = send_over(Config::default(), Config::default(), 3 << 20).await;
		assert_eq!(frames.iter().sum::<usize>(), 3 << 20);
		let biggest = *frames.iter().max().unwrap();
		assert_eq!(biggest, SPLIT_SEND, "frames: {frames:?}");
		// 16 KiB frames would have taken 192.
		assert!(frames.len() < 48, "{} frames: {frames:?}", frames.len());
	}

	/// Frame size is the sender's choice, so rust-libp2p's own yamux adapter talks to ours both ways.
	#[tokio::test]
	async fn interoperates_with_rust_libp2p_yamux() {
		let theirs = libp2p::yamux::Config::default;
		let to_them = send_over(Config::default(), theirs(), 1 << 20).await;
		assert_eq!(*to_them.iter().max().unwrap(), SPLIT_SEND);
		let from_them = send_over(theirs(), Config::default(), 1 << 20).await;
		assert_eq!(*from_them.iter().max().unwrap(), 16 << 10, "theirs sends 16 KiB frames");
	}
}
