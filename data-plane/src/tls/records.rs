//! The secured stream after the handshake: TLS records over the socket, sent when the writer flushes.
//!
//! Why not `futures_rustls::TlsStream` after the handshake: it writes to the socket after every
//! `poll_write`, at most 64 KiB at a time. yamux writes a frame's 12-byte header and its body in two
//! calls and then flushes, so each frame cost a lone 34-byte record in its own `writev` and then one
//! `writev` per 64 KiB of body, and on loopback every `writev` is a TCP push and a wakeup of the
//! reader. Here records are kept (encrypted, up to [`PENDING_LIMIT`]) until the writer flushes or
//! the limit is reached, and leave in as few `writev`s as the socket takes.
//!
//! Reading is as in futures-rustls: records are read and opened as the reader asks for plaintext.

use futures::{AsyncRead, AsyncWrite};
use std::io::{self, IoSlice, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Encrypted bytes kept for the socket before a write waits for it to take some: a yamux frame of
/// 256 KiB with its header, twice.
pub const PENDING_LIMIT: usize = 512 << 10;

/// A TLS connection whose handshake is done, over the socket `C`.
pub struct Records<C> {
	io: C,
	conn: rustls::Connection,
	/// `close_notify` was queued (by `poll_close`).
	closing: bool,
}

impl<C> Records<C> {
	/// Takes over a connection after its handshake, with whatever it already buffered either way.
	pub fn new(io: C, mut conn: rustls::Connection) -> Self {
		conn.set_buffer_limit(Some(PENDING_LIMIT));
		Self { io, conn, closing: false }
	}

	/// The TLS state: the peer's certificates, the negotiated suite.
	pub fn connection(&self) -> &rustls::Connection {
		&self.conn
	}
}

/// The socket as `std::io` for rustls, with `Pending` as `WouldBlock` (the waker is registered).
struct SyncIo<'a, 'b, C> {
	io: &'a mut C,
	cx: &'a mut Context<'b>,
}

fn would_block<T>(p: Poll<io::Result<T>>) -> io::Result<T> {
	match p {
		Poll::Ready(r) => r,
		Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
	}
}

impl<C: AsyncRead + Unpin> Read for SyncIo<'_, '_, C> {
	fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
		would_block(Pin::new(&mut *self.io).poll_read(self.cx, buf))
	}
}

impl<C: AsyncWrite + Unpin> Write for SyncIo<'_, '_, C> {
	fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
		would_block(Pin::new(&mut *self.io).poll_write(self.cx, buf))
	}
	fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
		would_block(Pin::new(&mut *self.io).poll_write_vectored(self.cx, bufs))
	}
	fn flush(&mut self) -> io::Result<()> {
		would_block(Pin::new(&mut *self.io).poll_flush(self.cx))
	}
}

/// `Ready(Ok(()))` once every kept record is in the socket.
fn send_all<C: AsyncWrite + Unpin>(
	io: &mut C,
	conn: &mut rustls::Connection,
	cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
	while conn.wants_write() {
		match conn.write_tls(&mut SyncIo { io: &mut *io, cx: &mut *cx }) {
			Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
			Ok(_) => {}
			Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
			Err(e) => return Poll::Ready(Err(e)),
		}
	}
	Poll::Ready(Ok(()))
}

impl<C: AsyncRead + AsyncWrite + Unpin> AsyncRead for Records<C> {
	fn poll_read(
		mut self: Pin<&mut Self>,
		cx: &mut Context<'_>,
		buf: &mut [u8],
	) -> Poll<io::Result<usize>> {
		let this = &mut *self;
		loop {
			// Plaintext already opened, or the end (`Ok(0)` after the peer's `close_notify`; an
			// `UnexpectedEof` error if the socket closed without one).
			match this.conn.reader().read(buf) {
				Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
				r => return Poll::Ready(r),
			}
			match this.conn.read_tls(&mut SyncIo { io: &mut this.io, cx: &mut *cx }) {
				Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
				Err(e) => return Poll::Ready(Err(e)),
				// `Ok(0)`: the socket's end, which rustls now knows; the next `read` reports it.
				Ok(_) => {}
			}
			if let Err(e) = this.conn.process_new_packets() {
				// rustls queued an alert saying why; a best effort to send it before failing.
				let _ = send_all(&mut this.io, &mut this.conn, cx);
				return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e)));
			}
		}
	}
}

impl<C: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Records<C> {
	fn poll_write(
		self: Pin<&mut Self>,
		cx: &mut Context<'_>,
		buf: &[u8],
	) -> Poll<io::Result<usize>> {
		self.poll_write_vectored(cx, &[IoSlice::new(buf)])
	}

	fn poll_write_vectored(
		mut self: Pin<&mut Self>,
		cx: &mut Context<'_>,
		bufs: &[IoSlice<'_>],
	) -> Poll<io::Result<usize>> {
		if bufs.iter().all(|b| b.is_empty()) {
			return Poll::Ready(Ok(0));
		}
		let this = &mut *self;
		loop {
			// Sealed into records and kept, while fewer than PENDING_LIMIT bytes wait.
			let n = this.conn.writer().write_vectored(bufs)?;
			if n > 0 {
				return Poll::Ready(Ok(n));
			}
			// Full: the socket must take what is kept first.
			std::task::ready!(send_all(&mut this.io, &mut this.conn, cx))?;
		}
	}

	fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
		let this = &mut *self;
		std::task::ready!(send_all(&mut this.io, &mut this.conn, cx))?;
		Pin::new(&mut this.io).poll_flush(cx)
	}

	fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
		let this = &mut *self;
		if !this.closing {
			this.conn.send_close_notify();
			this.closing = true;
		}
		std::task::ready!(send_all(&mut this.io, &mut this.conn, cx))?;
		Pin::new(&mut this.io).poll_close(cx)
	}
}
