//! libp2p's TLS security handshake (`/tls/1.0.0`, <https://github.com/libp2p/specs/blob/master/tls/tls.md>)
//! with the cipher suite chosen for the CPU.
//!
//! Why not `libp2p::tls::Config`: it fixes ChaCha20-Poly1305 as the first TLS 1.3 suite and keeps its
//! rustls configs private. On CPUs with AES and carry-less multiply instructions (every x86-64 server
//! of the last decade, ARMv8 with the crypto extension) AES-GCM costs about a quarter of ChaCha20's
//! cycles, and on a blob transfer the cipher was a quarter of all CPU time (docs/data-plane.md).
//!
//! What is ours here is the suite order and the server's choice; the certificate with the libp2p
//! extension and its checks come from `libp2p::tls::certificate`, so the wire format is the spec's and
//! peers running other libp2p implementations interoperate:
//! - a peer with AES hardware lists AES-128-GCM, AES-256-GCM, then ChaCha20; one without lists
//!   ChaCha20 first;
//! - as server, a peer with AES hardware follows the client's order; one without insists on its own
//!   order (ChaCha20 first), since the server pays the cipher too.
//!
//! After the handshake the secured stream is [`Records`], which keeps sealed records until the
//! writer flushes instead of writing to the socket on every call (see its module).

use futures::future::BoxFuture;
use futures::{AsyncRead, AsyncWrite, FutureExt};
use libp2p::core::upgrade::{InboundConnectionUpgrade, OutboundConnectionUpgrade, UpgradeInfo};
use libp2p::tls::certificate;
use libp2p::{identity, PeerId};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring as ring_provider, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::sign::CertifiedKey;
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use std::sync::Arc;

mod records;
pub use records::Records;

/// The protocol name multistream-select negotiates (the same as every libp2p TLS implementation).
pub const PROTOCOL_NAME: &str = "/tls/1.0.0";
/// The ALPN value the spec requires.
const ALPN: &[u8] = b"libp2p";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
	#[error("cannot make the libp2p TLS certificate: {0}")]
	Certificate(#[from] certificate::GenError),
	#[error("cannot configure TLS: {0}")]
	Config(#[from] rustls::Error),
	#[error("TLS handshake failed: {0}")]
	Handshake(std::io::Error),
	#[error("the peer's certificate is not a valid libp2p certificate: {0}")]
	BadCertificate(#[from] certificate::ParseError),
}

/// Whether this CPU runs AES-GCM in hardware (AES rounds and carry-less multiplication).
pub fn aes_in_hardware() -> bool {
	#[cfg(target_arch = "x86_64")]
	{
		std::arch::is_x86_feature_detected!("aes")
			&& std::arch::is_x86_feature_detected!("pclmulqdq")
	}
	#[cfg(target_arch = "aarch64")]
	{
		std::arch::is_aarch64_feature_detected!("aes")
			&& std::arch::is_aarch64_feature_detected!("pmull")
	}
	#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
	{
		false
	}
}

/// ring's provider restricted to the TLS 1.3 suites, in the order that suits this CPU.
fn provider(aes_first: bool) -> Arc<CryptoProvider> {
	use rustls::crypto::ring::cipher_suite::{
		TLS13_AES_128_GCM_SHA256, TLS13_AES_256_GCM_SHA384, TLS13_CHACHA20_POLY1305_SHA256,
	};
	let mut p = ring_provider::default_provider();
	p.cipher_suites = if aes_first {
		vec![TLS13_AES_128_GCM_SHA256, TLS13_AES_256_GCM_SHA384, TLS13_CHACHA20_POLY1305_SHA256]
	} else {
		vec![TLS13_CHACHA20_POLY1305_SHA256, TLS13_AES_128_GCM_SHA256, TLS13_AES_256_GCM_SHA384]
	};
	Arc::new(p)
}

/// The security upgrade: pass `tls::Config::new` to `SwarmBuilder::with_tcp` (alone, or paired with
/// noise so that peers without TLS can still connect).
#[derive(Clone)]
pub struct Config {
	server: Arc<rustls::ServerConfig>,
	client: Arc<rustls::ClientConfig>,
}

impl Config {
	/// A config for `identity`, with the suite order picked for this CPU.
	pub fn new(identity: &identity::Keypair) -> Result<Self, TlsError> {
		Self::with_aes_preference(identity, aes_in_hardware())
	}

	/// A config that prefers AES-GCM (`true`) or ChaCha20-Poly1305 (`false`) whatever the CPU.
	pub fn with_aes_preference(
		identity: &identity::Keypair,
		aes_first: bool,
	) -> Result<Self, TlsError> {
		let verifier = Arc::new(Libp2pCertVerifier);
		let provider = provider(aes_first);
		// The spec lets a peer use one certificate for every connection; its key is not the identity
		// key. rustls's `with_single_cert` would refuse it (webpki rejects the libp2p extension, which
		// is marked critical), so a resolver hands it out.
		let (cert, key) = certificate::generate(identity)?;
		let signer = provider.key_provider.load_private_key(key)?;
		let own = Arc::new(OwnCert(Arc::new(CertifiedKey::new(vec![cert], signer))));
		let mut server = rustls::ServerConfig::builder_with_provider(provider.clone())
			.with_protocol_versions(&[&rustls::version::TLS13])?
			.with_client_cert_verifier(verifier.clone())
			.with_cert_resolver(own.clone());
		server.alpn_protocols = vec![ALPN.to_vec()];
		server.ignore_client_order = !aes_first;
		let mut client = rustls::ClientConfig::builder_with_provider(provider)
			.with_protocol_versions(&[&rustls::version::TLS13])?
			.dangerous()
			.with_custom_certificate_verifier(verifier)
			.with_client_cert_resolver(own);
		client.alpn_protocols = vec![ALPN.to_vec()];
		Ok(Self { server: Arc::new(server), client: Arc::new(client) })
	}
}

/// This peer's certificate, presented on every connection in either role.
#[derive(Debug)]
struct OwnCert(Arc<CertifiedKey>);

impl rustls::server::ResolvesServerCert for OwnCert {
	fn resolve(&self, _: rustls::server::ClientHello) -> Option<Arc<CertifiedKey>> {
		Some(self.0.clone())
	}
}

impl rustls::client::ResolvesClientCert for OwnCert {
	fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
		Some(self.0.clone())
	}

	fn has_certs(&self) -> bool {
		true
	}
}

/// The remote's peer id, from the one certificate the handshake accepted.
fn remote_peer(state: &rustls::CommonState) -> Result<PeerId, TlsError> {
	match state.peer_certificates() {
		Some([cert]) => Ok(certificate::parse(cert)?.peer_id()),
		// Unreachable after a successful handshake: the verifier demands exactly one certificate.
		_ => Err(TlsError::Handshake(std::io::Error::other("the peer sent no single certificate"))),
	}
}

impl UpgradeInfo for Config {
	type Info = &'static str;
	type InfoIter = std::iter::Once<Self::Info>;

	fn protocol_info(&self) -> Self::InfoIter {
		std::iter::once(PROTOCOL_NAME)
	}
}

impl<C> InboundConnectionUpgrade<C> for Config
where
	C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
	type Output = (PeerId, Records<C>);
	type Error = TlsError;
	type Future = BoxFuture<'static, Result<Self::Output, Self::Error>>;

	fn upgrade_inbound(self, socket: C, _: Self::Info) -> Self::Future {
		async move {
			let stream = futures_rustls::TlsAcceptor::from(self.server)
				.accept(socket)
				.await
				.map_err(TlsError::Handshake)?;
			let peer = remote_peer(stream.get_ref().1)?;
			let (io, conn) = stream.into_inner();
			Ok((peer, Records::new(io, conn.into())))
		}
		.boxed()
	}
}

impl<C> OutboundConnectionUpgrade<C> for Config
where
	C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
	type Output = (PeerId, Records<C>);
	type Error = TlsError;
	type Future = BoxFuture<'static, Result<Self::Output, Self::Error>>;

	fn upgrade_outbound(self, socket: C, _: Self::Info) -> Self::Future {
		async move {
			// The spec forbids sending a server name; rustls sends none for an IP address.
			let no_sni = ServerName::IpAddress(std::net::Ipv4Addr::UNSPECIFIED.into());
			let stream = futures_rustls::TlsConnector::from(self.client)
				.connect(no_sni, socket)
				.await
				.map_err(TlsError::Handshake)?;
			// Whether this is the peer we dialed is checked by the swarm against the `/p2p/` address.
			let peer = remote_peer(stream.get_ref().1)?;
			let (io, conn) = stream.into_inner();
			Ok((peer, Records::new(io, conn.into())))
		}
		.boxed()
	}
}

/// Accepts exactly one self-signed certificate carrying a valid libp2p extension (the identity key's
/// signature over the certificate key), as the spec asks of both sides; no CA is involved.
#[derive(Debug)]
struct Libp2pCertVerifier;

fn check_presented(
	end_entity: &CertificateDer,
	intermediates: &[CertificateDer],
) -> Result<(), rustls::Error> {
	if !intermediates.is_empty() {
		return Err(rustls::Error::General("libp2p TLS allows exactly one certificate".into()));
	}
	certificate::parse(end_entity).map_err(bad_certificate)?;
	Ok(())
}

fn check_signature(
	cert: &CertificateDer,
	dss: &DigitallySignedStruct,
	message: &[u8],
) -> Result<HandshakeSignatureValid, rustls::Error> {
	certificate::parse(cert)
		.map_err(bad_certificate)?
		.verify_signature(dss.scheme, message, dss.signature())
		.map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadSignature))?;
	Ok(HandshakeSignatureValid::assertion())
}

fn bad_certificate(e: certificate::ParseError) -> rustls::Error {
	rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(e))))
}

/// The schemes a libp2p certificate key may sign the handshake with.
const SCHEMES: [SignatureScheme; 9] = [
	SignatureScheme::ECDSA_NISTP256_SHA256,
	SignatureScheme::ECDSA_NISTP384_SHA384,
	SignatureScheme::ED25519,
	SignatureScheme::RSA_PSS_SHA256,
	SignatureScheme::RSA_PSS_SHA384,
	SignatureScheme::RSA_PSS_SHA512,
	SignatureScheme::RSA_PKCS1_SHA256,
	SignatureScheme::RSA_PKCS1_SHA384,
	SignatureScheme::RSA_PKCS1_SHA512,
];

/// Only TLS 1.3 is configured, so a TLS 1.2 signature never reaches the verifier; refuse it anyway.
fn tls12_refused() -> Result<HandshakeSignatureValid, rustls::Error> {
	Err(rustls::Error::General("libp2p TLS is TLS 1.3 only".into()))
}

impl ServerCertVerifier for Libp2pCertVerifier {
	fn verify_server_cert(
		&self,
		end_entity: &CertificateDer,
		intermediates: &[CertificateDer],
		_server_name: &ServerName,
		_ocsp: &[u8],
		_now: UnixTime,
	) -> Result<ServerCertVerified, rustls::Error> {
		check_presented(end_entity, intermediates)?;
		Ok(ServerCertVerified::assertion())
	}

	fn verify_tls12_signature(
		&self,
		_: &[u8],
		_: &CertificateDer,
		_: &DigitallySignedStruct,
	) -> Result<HandshakeSignatureValid, rustls::Error> {
		tls12_refused()
	}

	fn verify_tls13_signature(
		&self,
		message: &[u8],
		cert: &CertificateDer,
		dss: &DigitallySignedStruct,
	) -> Result<HandshakeSignatureValid, rustls::Error> {
		check_signature(cert, dss, message)
	}

	fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
		SCHEMES.to_vec()
	}
}

impl ClientCertVerifier for Libp2pCertVerifier {
	fn root_hint_subjects(&self) -> &[DistinguishedName] {
		&[]
	}

	fn verify_client_cert(
		&self,
		end_entity: &CertificateDer,
		intermediates: &[CertificateDer],
		_now: UnixTime,
	) -> Result<ClientCertVerified, rustls::Error> {
		check_presented(end_entity, intermediates)?;
		Ok(ClientCertVerified::assertion())
	}

	fn verify_tls12_signature(
		&self,
		_: &[u8],
		_: &CertificateDer,
		_: &DigitallySignedStruct,
	) -> Result<HandshakeSignatureValid, rustls::Error> {
		tls12_refused()
	}

	fn verify_tls13_signature(
		&self,
		message: &[u8],
		cert: &CertificateDer,
		dss: &DigitallySignedStruct,
	) -> Result<HandshakeSignatureValid, rustls::Error> {
		check_signature(cert, dss, message)
	}

	fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
		SCHEMES.to_vec()
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use futures::{AsyncReadExt, AsyncWriteExt};
	use libp2p::tcp::tokio::TcpStream;
	use rustls::CipherSuite;

	/// A connected loopback TCP pair (dialer, listener).
	async fn tcp_pair() -> (TcpStream, TcpStream) {
		let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
		let addr = l.local_addr().unwrap();
		let (a, b) = tokio::join!(tokio::net::TcpStream::connect(addr), l.accept());
		(TcpStream(a.unwrap()), TcpStream(b.unwrap().0))
	}

	/// The suite a secured stream negotiated.
	trait Negotiated: AsyncRead + AsyncWrite + Unpin {
		fn suite(&self) -> CipherSuite;
	}

	impl<T: AsyncRead + AsyncWrite + Unpin> Negotiated for Records<T> {
		fn suite(&self) -> CipherSuite {
			self.connection().negotiated_cipher_suite().unwrap().suite()
		}
	}

	/// rust-libp2p's TLS upgrade gives futures-rustls's stream.
	impl<T: AsyncRead + AsyncWrite + Unpin> Negotiated for futures_rustls::TlsStream<T> {
		fn suite(&self) -> CipherSuite {
			use futures_rustls::TlsStream;
			let state: &rustls::CommonState = match self {
				TlsStream::Client(c) => c.get_ref().1,
				TlsStream::Server(c) => c.get_ref().1,
			};
			state.negotiated_cipher_suite().unwrap().suite()
		}
	}

	/// Runs a handshake between `dialer` and `listener` and one message each way; returns what each
	/// side learned (the listener's id as seen by the dialer, and the reverse) and the suite.
	async fn handshake<D, L, SD, SL>(dialer: D, listener: L) -> (PeerId, PeerId, CipherSuite)
	where
		D: OutboundConnectionUpgrade<TcpStream, Output = (PeerId, SD)>
			+ UpgradeInfo<Info = &'static str>,
		L: InboundConnectionUpgrade<TcpStream, Output = (PeerId, SL)>
			+ UpgradeInfo<Info = &'static str>,
		D::Error: std::fmt::Debug,
		L::Error: std::fmt::Debug,
		SD: Negotiated,
		SL: Negotiated,
	{
		let (a, b) = tcp_pair().await;
		let (out, inb) = tokio::join!(
			dialer.upgrade_outbound(a, PROTOCOL_NAME),
			listener.upgrade_inbound(b, PROTOCOL_NAME)
		);
		let ((seen_by_dialer, mut a), (seen_by_listener, mut b)) = (out.unwrap(), inb.unwrap());
		a.write_all(b"ping").await.unwrap();
		a.flush().await.unwrap();
		let mut buf = [0u8; 4];
		b.read_exact(&mut buf).await.unwrap();
		assert_eq!(&buf, b"ping");
		b.write_all(b"pong").await.unwrap();
		b.flush().await.unwrap();
		a.read_exact(&mut buf).await.unwrap();
		assert_eq!(&buf, b"pong");
		assert_eq!(a.suite(), b.suite());
		(seen_by_dialer, seen_by_listener, a.suite())
	}

	#[tokio::test]
	async fn peers_learn_each_others_ids_and_the_suite_follows_the_cpu_preference() {
		let (ka, kb) =
			(identity::Keypair::generate_ed25519(), identity::Keypair::generate_ed25519());
		let (ida, idb) = (ka.public().to_peer_id(), kb.public().to_peer_id());
		let cfg = |k: &identity::Keypair, aes| Config::with_aes_preference(k, aes).unwrap();

		let (x, y, s) = handshake(cfg(&ka, true), cfg(&kb, true)).await;
		assert_eq!((x, y, s), (idb, ida, CipherSuite::TLS13_AES_128_GCM_SHA256));
		// A server without AES hardware insists on ChaCha20, whatever the client prefers.
		let (_, _, s) = handshake(cfg(&ka, true), cfg(&kb, false)).await;
		assert_eq!(s, CipherSuite::TLS13_CHACHA20_POLY1305_SHA256);
		// A server with AES hardware follows a client that lacks it.
		let (_, _, s) = handshake(cfg(&ka, false), cfg(&kb, true)).await;
		assert_eq!(s, CipherSuite::TLS13_CHACHA20_POLY1305_SHA256);
		// The default picks by CPU; both sides agree.
		let (x, y, _) = handshake(Config::new(&ka).unwrap(), Config::new(&kb).unwrap()).await;
		assert_eq!((x, y), (idb, ida));
	}

	/// The wire format is the spec's: rust-libp2p's own TLS upgrade connects to ours both ways.
	#[tokio::test]
	async fn interoperates_with_rust_libp2p_tls() {
		let (ka, kb) =
			(identity::Keypair::generate_ed25519(), identity::Keypair::generate_ed25519());
		let (ida, idb) = (ka.public().to_peer_id(), kb.public().to_peer_id());
		let theirs = |k: &identity::Keypair| libp2p::tls::Config::new(k).unwrap();

		let (x, y, s) =
			handshake(Config::with_aes_preference(&ka, true).unwrap(), theirs(&kb)).await;
		assert_eq!((x, y), (idb, ida));
		assert_eq!(s, CipherSuite::TLS13_AES_128_GCM_SHA256, "their server follows our order");
		let (x, y, _) = handshake(theirs(&ka), Config::new(&kb).unwrap()).await;
		assert_eq!((x, y), (idb, ida));
	}

	/// A socket that counts the writes it accepted.
	struct Counted<T> {
		inner: T,
		writes: Arc<std::sync::atomic::AtomicUsize>,
	}

	impl<T> Counted<T> {
		/// Counts a write the socket accepted, and passes its result on.
		fn count(
			&self,
			r: std::task::Poll<std::io::Result<usize>>,
		) -> std::task::Poll<std::io::Result<usize>> {
			if matches!(r, std::task::Poll::Ready(Ok(n)) if n > 0) {
				self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
			}
			r
		}
	}

	impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
		fn poll_read(
			mut self: std::pin::Pin<&mut Self>,
			cx: &mut std::task::Context<'_>,
			buf: &mut [u8],
		) -> std::task::Poll<std::io::Result<usize>> {
			std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
		}
	}

	impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
		fn poll_write(
			mut self: std::pin::Pin<&mut Self>,
			cx: &mut std::task::Context<'_>,
			buf: &[u8],
		) -> std::task::Poll<std::io::Result<usize>> {
			let r = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
			self.count(r)
		}
		fn poll_write_vectored(
			mut self: std::pin::Pin<&mut Self>,
			cx: &mut std::task::Context<'_>,
			bufs: &[std::io::IoSlice<'_>],
		) -> std::task::Poll<std::io::Result<usize>> {
			let r = std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
			self.count(r)
		}
		fn poll_flush(
			mut self: std::pin::Pin<&mut Self>,
			cx: &mut std::task::Context<'_>,
		) -> std::task::Poll<std::io::Result<()>> {
			std::pin::Pin::new(&mut self.inner).poll_flush(cx)
		}
		fn poll_close(
			mut self: std::pin::Pin<&mut Self>,
			cx: &mut std::task::Context<'_>,
		) -> std::task::Poll<std::io::Result<()>> {
			std::pin::Pin::new(&mut self.inner).poll_close(cx)
		}
	}

	/// Records wait for the writer's flush (up to `PENDING_LIMIT`), bytes arrive intact and in order
	/// whatever the sizes of the writes and reads, and closing sends `close_notify`, so the reader
	/// sees a clean end rather than a truncation error.
	#[tokio::test]
	async fn records_wait_for_the_flush_and_arrive_intact_and_in_order() {
		let (ka, kb) =
			(identity::Keypair::generate_ed25519(), identity::Keypair::generate_ed25519());
		let writes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
		let written = || writes.load(std::sync::atomic::Ordering::Relaxed);
		let (a, b) = tcp_pair().await;
		let a = Counted { inner: a, writes: writes.clone() };
		let (out, inb) = tokio::join!(
			Config::new(&ka).unwrap().upgrade_outbound(a, PROTOCOL_NAME),
			Config::new(&kb).unwrap().upgrade_inbound(b, PROTOCOL_NAME)
		);
		let ((_, mut a), (_, mut b)) = (out.unwrap(), inb.unwrap());

		// What yamux does per frame: a 12-byte header, a 256 KiB body, a flush.
		let body: Vec<u8> = (0..256 << 10).map(|i| (i * 31 % 251) as u8).collect();
		let handshake = written();
		a.write_all(&[7u8; 12]).await.unwrap();
		a.write_all(&body).await.unwrap();
		assert_eq!(written(), handshake, "nothing reaches the socket before the flush");
		a.flush().await.unwrap();
		assert!(written() > handshake, "the flush sends the records");
		let mut got = vec![0u8; 12 + body.len()];
		b.read_exact(&mut got).await.unwrap();
		assert_eq!(&got[..12], &[7u8; 12]);
		assert!(got[12..] == body[..]);

		// More than PENDING_LIMIT without a flush: the writer sends as the limit fills, so a large
		// write completes while the reader reads; odd sizes both ways.
		let big: Vec<u8> =
			(0..3 * records::PENDING_LIMIT + 12345).map(|i| (i % 253) as u8).collect();
		let writer = async {
			for piece in big.chunks(100_003) {
				a.write_all(piece).await.unwrap();
			}
			a.close().await.unwrap();
		};
		let reader = async {
			let mut got = Vec::new();
			let mut buf = vec![0u8; 77_777];
			loop {
				match b.read(&mut buf).await.unwrap() {
					0 => break got,
					n => got.extend_from_slice(&buf[..n]),
				}
			}
		};
		let ((), got) = tokio::join!(writer, reader);
		assert_eq!(got.len(), big.len());
		assert!(got == big, "the bytes arrive intact and in order, then a clean end");
	}

	/// A certificate without the libp2p extension (here an ordinary self-signed one) is refused by
	/// our client and by our server.
	#[tokio::test]
	async fn refuses_certificates_without_the_libp2p_extension() {
		let plain = rcgen::generate_simple_self_signed(vec!["peer".into()]).unwrap();
		let cert = CertificateDer::from(plain.serialize_der().unwrap());
		let key = rustls::pki_types::PrivateKeyDer::Pkcs8(plain.serialize_private_key_der().into());
		let ours = Config::new(&identity::Keypair::generate_ed25519()).unwrap();

		// A server presenting it.
		let mut server = rustls::ServerConfig::builder_with_provider(provider(true))
			.with_protocol_versions(&[&rustls::version::TLS13])
			.unwrap()
			.with_no_client_auth()
			.with_single_cert(vec![cert.clone()], key.clone_key())
			.unwrap();
		server.alpn_protocols = vec![ALPN.to_vec()];
		let (a, b) = tcp_pair().await;
		let (out, _) = tokio::join!(
			ours.clone().upgrade_outbound(a, PROTOCOL_NAME),
			futures_rustls::TlsAcceptor::from(Arc::new(server)).accept(b)
		);
		let Err(err) = out else {
			panic!("our client accepted a certificate without the extension")
		};
		assert!(err.to_string().contains("invalid peer certificate"), "{err}");

		// A client presenting it.
		let mut client = rustls::ClientConfig::builder_with_provider(provider(true))
			.with_protocol_versions(&[&rustls::version::TLS13])
			.unwrap()
			.dangerous()
			.with_custom_certificate_verifier(Arc::new(Libp2pCertVerifier))
			.with_client_auth_cert(vec![cert], key)
			.unwrap();
		client.alpn_protocols = vec![ALPN.to_vec()];
		let (a, b) = tcp_pair().await;
		let no_sni = ServerName::IpAddress(std::net::Ipv4Addr::UNSPECIFIED.into());
		let (_, inb) = tokio::join!(
			futures_rustls::TlsConnector::from(Arc::new(client)).connect(no_sni, a),
			ours.upgrade_inbound(b, PROTOCOL_NAME)
		);
		let Err(err) = inb else {
			panic!("our server accepted a client certificate without the extension")
		};
		assert!(err.to_string().contains("invalid peer certificate"), "{err}");
	}
}
