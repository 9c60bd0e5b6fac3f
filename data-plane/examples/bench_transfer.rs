//! Transfer benchmark (run through `scripts/bench-transfer`): the same blob moved between two local
//! peers over libp2p (TLS + yamux over TCP, verified 1 MiB groups, written to the content store) and
//! by a plain TCP copy on loopback (file -> socket -> file, synced), in the same process and run.
//! Prints the throughputs and their ratios.
//!
//! A third side, the "floor", is the plain copy plus only the per-byte work any verified, encrypted
//! transfer must do: the sender checks each 1 MiB group's BLAKE3 as it reads (the store verifies
//! reads) and seals it in 16 KiB AEAD records (TLS's record size, the suite TLS picks on this CPU); the
//! receiver opens them and checks BLAKE3 before writing. No protocol, no framing, no async runtime:
//! what libp2p loses to the floor is the networking stack; what the floor loses to the plain copy is
//! the cryptography the issue asks for.
//!
//! Usage: bench_transfer [MiB (default 256)] [rounds (default 15)]; BENCH_QUIC=1 uses QUIC instead of TCP,
//! BENCH_WINDOW=n sets the groups in flight, BENCH_RUN=n the groups per request, BENCH_LANES=n the
//! connections to the provider, BENCH_DEBUG=1 prints each side's wall and CPU time (and the groups the
//! libp2p side received, and when), BENCH_PERF_CTL=fifo drives
//! `perf record --delay=-1 --control=fifo:fifo` so that only the libp2p transfers are profiled
//! (BENCH_PERF_SIDE=plain or floor profiles that side instead).

use data_plane::{fetch, ContentStore, DataNode, FetchOptions, NetConfig};
use libp2p::identity::Keypair;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn write_blob(path: &Path, mib: u64) {
	let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
	let mut xof = blake3::Hasher::new().update(b"bench").finalize_xof();
	let mut buf = vec![0u8; 1 << 20];
	for _ in 0..mib {
		xof.fill(&mut buf);
		f.write_all(&buf).unwrap();
	}
	f.flush().unwrap();
}

/// Writes and deletes a scratch file as large as the blob, so that the timed transfer that follows
/// writes into page-cache memory the guest has touched recently. On this project's VMs the first touch
/// of memory the host has reclaimed costs ~2.7 ms per MiB (fresh page cache fills at ~370 MiB/s
/// against ~5 GiB/s for recycled pages), and without this the comparison measured which side happened
/// to get recycled pages. Both sides get the same preparation.
fn recycle_page_cache(dir: &Path, mib: u64) {
	let p = dir.join("scratch");
	let mut f = std::fs::File::create(&p).unwrap();
	let buf = vec![1u8; 1 << 20];
	for _ in 0..mib + 16 {
		f.write_all(&buf).unwrap();
	}
	f.sync_all().unwrap();
	drop(f);
	std::fs::remove_file(&p).unwrap();
}

/// The AEAD our TLS negotiates between two peers on this CPU (see `data_plane::tls`).
fn tls_aead() -> (&'static ring::aead::Algorithm, &'static str) {
	if data_plane::tls::aes_in_hardware() {
		(&ring::aead::AES_128_GCM, "AES-128-GCM")
	} else {
		(&ring::aead::CHACHA20_POLY1305, "ChaCha20-Poly1305")
	}
}

fn aead_key(alg: &'static ring::aead::Algorithm) -> ring::aead::LessSafeKey {
	ring::aead::LessSafeKey::new(
		ring::aead::UnboundKey::new(alg, &[7u8; 32][..alg.key_len()]).unwrap(),
	)
}

fn nonce(i: u64) -> ring::aead::Nonce {
	let mut n = [0u8; 12];
	n[4..].copy_from_slice(&i.to_le_bytes());
	ring::aead::Nonce::assume_unique_for_key(n)
}

/// TLS's largest record: the floor seals in records of this size.
const RECORD: usize = 16 << 10;
const TAG: usize = 16;

/// Seals and opens `mib` MiB in TLS-sized records with `alg` on one core.
fn cipher_rate(mib: u64, alg: &'static ring::aead::Algorithm) -> f64 {
	use ring::aead::Aad;
	let key = aead_key(alg);
	let mut frame = vec![5u8; RECORD];
	let frames = (mib << 20) / frame.len() as u64;
	let start = Instant::now();
	for i in 0..frames {
		let tag = key.seal_in_place_separate_tag(nonce(i), Aad::empty(), &mut frame).unwrap();
		let mut sealed = std::mem::take(&mut frame);
		sealed.extend_from_slice(tag.as_ref());
		frame = key.open_in_place(nonce(i), Aad::empty(), &mut sealed).unwrap().to_vec();
	}
	mib as f64 / start.elapsed().as_secs_f64()
}

/// Tells `perf record --control=fifo:PATH` (started with `--delay=-1`; PATH in BENCH_PERF_CTL) to
/// sample only the timed part of `side`, when it is the side BENCH_PERF_SIDE names (libp2p by default).
fn perf_ctl(side: &str, cmd: &[u8]) {
	let Ok(fifo) = std::env::var("BENCH_PERF_CTL") else { return };
	if std::env::var("BENCH_PERF_SIDE").map_or(side == "libp2p", |s| s == side) {
		std::fs::OpenOptions::new().write(true).open(fifo).unwrap().write_all(cmd).unwrap();
	}
}

/// User plus system CPU time of this process so far, all threads.
fn cpu_secs() -> f64 {
	// SAFETY: getrusage fills the struct we pass and reads nothing else.
	let mut u: libc::rusage = unsafe { std::mem::zeroed() };
	unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
	let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
	t(u.ru_utime) + t(u.ru_stime)
}

/// The baseline: a straightforward copy with 1 MiB buffers on two threads, synced at the end like
/// the store syncs a finished blob.
fn plain_tcp(src: &Path, dst: &Path) -> Duration {
	use std::io::Read;
	let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
	let addr = listener.local_addr().unwrap();
	let dst = dst.to_path_buf();
	let server = std::thread::spawn(move || {
		let (mut sock, _) = listener.accept().unwrap();
		let mut out = std::fs::File::create(&dst).unwrap();
		let mut buf = vec![0u8; 1 << 20];
		loop {
			let n = sock.read(&mut buf).unwrap();
			if n == 0 {
				break;
			}
			out.write_all(&buf[..n]).unwrap();
		}
		out.sync_all().unwrap();
	});
	let start = Instant::now();
	let mut sock = std::net::TcpStream::connect(addr).unwrap();
	sock.set_nodelay(true).unwrap();
	let mut file = std::fs::File::open(src).unwrap();
	let mut buf = vec![0u8; 1 << 20];
	loop {
		let n = file.read(&mut buf).unwrap();
		if n == 0 {
			break;
		}
		sock.write_all(&buf[..n]).unwrap();
	}
	sock.shutdown(std::net::Shutdown::Write).unwrap();
	server.join().unwrap();
	start.elapsed()
}

/// The floor (see the module doc): [`plain_tcp`] plus BLAKE3 on both sides and AEAD records.
fn floor_tcp(src: &Path, dst: &Path) -> Duration {
	use ring::aead::Aad;
	use std::io::Read;
	const GROUP: usize = data_plane::GROUP_LEN as usize;
	const SEALED: usize = GROUP + GROUP / RECORD * TAG;
	let (alg, _) = tls_aead();
	let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
	let addr = listener.local_addr().unwrap();
	let dst = dst.to_path_buf();
	let server = std::thread::spawn(move || {
		let (key, mut seq) = (aead_key(alg), 0u64);
		let (mut sock, _) = listener.accept().unwrap();
		let mut out = std::fs::File::create(&dst).unwrap();
		let mut sealed = vec![0u8; SEALED];
		let mut plain = vec![0u8; GROUP];
		loop {
			// Groups arrive whole (the blob is a whole number of MiB): read one, open its records.
			match sock.read_exact(&mut sealed) {
				Ok(()) => {}
				Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
				Err(e) => panic!("{e}"),
			}
			for (rec, p) in sealed.chunks_mut(RECORD + TAG).zip(plain.chunks_mut(RECORD)) {
				p.copy_from_slice(key.open_in_place(nonce(seq), Aad::empty(), rec).unwrap());
				seq += 1;
			}
			std::hint::black_box(blake3::hash(&plain));
			out.write_all(&plain).unwrap();
		}
		out.sync_all().unwrap();
	});
	let start = Instant::now();
	let (key, mut seq) = (aead_key(alg), 0u64);
	let mut sock = std::net::TcpStream::connect(addr).unwrap();
	sock.set_nodelay(true).unwrap();
	let mut file = std::fs::File::open(src).unwrap();
	let mut plain = vec![0u8; GROUP];
	let mut sealed = vec![0u8; SEALED];
	loop {
		let n = file.read(&mut plain).unwrap();
		if n == 0 {
			break;
		}
		assert_eq!(n, GROUP, "the floor moves whole 1 MiB groups");
		std::hint::black_box(blake3::hash(&plain));
		for (p, rec) in plain.chunks(RECORD).zip(sealed.chunks_mut(RECORD + TAG)) {
			let (body, tag) = rec.split_at_mut(RECORD);
			body.copy_from_slice(p);
			let t = key.seal_in_place_separate_tag(nonce(seq), Aad::empty(), body).unwrap();
			tag.copy_from_slice(t.as_ref());
			seq += 1;
		}
		sock.write_all(&sealed).unwrap();
	}
	sock.shutdown(std::net::Shutdown::Write).unwrap();
	server.join().unwrap();
	start.elapsed()
}

async fn libp2p(src: &Path, dir: &Path, mib: u64, round: u32) -> Duration {
	let quic = std::env::var_os("BENCH_QUIC").is_some();
	let tcp_only = || NetConfig {
		listen: vec![if quic { "/ip4/127.0.0.1/udp/0/quic-v1" } else { "/ip4/127.0.0.1/tcp/0" }
			.parse()
			.unwrap()],
		..Default::default()
	};
	let a_store = Arc::new(ContentStore::open(dir.join(format!("a{round}")), 1 << 40).unwrap());
	let (hash, _) = a_store.import_file(src).unwrap();
	let a = DataNode::start(Keypair::generate_ed25519(), a_store, tcp_only()).await.unwrap();
	let b_store = Arc::new(ContentStore::open(dir.join(format!("b{round}")), 1 << 40).unwrap());
	let b = DataNode::start(Keypair::generate_ed25519(), b_store, tcp_only()).await.unwrap();
	let pa = b.dial(a.listen_addrs().await[0].clone()).await.unwrap();
	recycle_page_cache(dir, mib);
	perf_ctl("libp2p", b"enable\n");
	let cpu0 = cpu_secs();
	let start = Instant::now();
	let mut opts = FetchOptions { providers: vec![pa], ..Default::default() };
	if let Some(w) = std::env::var("BENCH_WINDOW").ok().and_then(|s| s.parse().ok()) {
		(opts.window, opts.per_provider) = (w, w);
	}
	if let Some(l) = std::env::var("BENCH_LANES").ok().and_then(|s| s.parse().ok()) {
		opts.lanes = l;
	}
	if let Some(r) = std::env::var("BENCH_RUN").ok().and_then(|s| s.parse().ok()) {
		opts.run = r;
	}
	// With BENCH_DEBUG, when each group arrived (from the fetch's progress events).
	let debug = std::env::var_os("BENCH_DEBUG").is_some();
	let arrivals = debug.then(|| {
		let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
		opts.progress = Some(tx);
		tokio::spawn(async move {
			let mut at = vec![];
			while rx.recv().await.is_some() {
				at.push(start.elapsed().as_secs_f64());
			}
			at
		})
	});
	let r = fetch(&b, hash, opts).await.unwrap();
	let t = start.elapsed();
	perf_ctl("libp2p", b"disable\n");
	if let Some(arrivals) = arrivals {
		let cpu = cpu_secs() - cpu0;
		let at = arrivals.await.unwrap();
		let q = |f: usize| at[(at.len() * f / 4).min(at.len() - 1)];
		eprintln!(
			"received {:?} of {} groups, {:.2} s wall, {cpu:.2} s cpu; first group at {:.3} s, \
			 a quarter {:.3}, half {:.3}, three quarters {:.3}, last {:.3}",
			r.received.values().sum::<u64>(),
			r.groups,
			t.as_secs_f64(),
			q(0),
			q(1),
			q(2),
			q(3),
			q(4),
		);
	}
	a.shutdown();
	b.shutdown();
	t
}

#[tokio::main]
async fn main() {
	let args: Vec<String> = std::env::args().collect();
	let mib: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(256);
	let rounds: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(15);
	let dir =
		tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "/tmp".into())).unwrap();
	let src = dir.path().join("blob");
	write_blob(&src, mib);
	let rate = |d: Duration| mib as f64 / d.as_secs_f64();
	let (mut tcp, mut floor, mut p2p) = (vec![], vec![], vec![]);
	for round in 0..rounds {
		let copy = dir.path().join("copy");
		let _ = std::fs::remove_file(&copy);
		recycle_page_cache(dir.path(), mib);
		let debug = std::env::var_os("BENCH_DEBUG").is_some();
		let cpu0 = cpu_secs();
		perf_ctl("plain", b"enable\n");
		let t = plain_tcp(&src, &copy);
		perf_ctl("plain", b"disable\n");
		if debug {
			eprintln!("plain copy: {:.2} s wall, {:.2} s cpu", t.as_secs_f64(), cpu_secs() - cpu0);
		}
		let _ = std::fs::remove_file(&copy);
		recycle_page_cache(dir.path(), mib);
		let cpu0 = cpu_secs();
		perf_ctl("floor", b"enable\n");
		let f = floor_tcp(&src, &copy);
		perf_ctl("floor", b"disable\n");
		if debug {
			eprintln!("floor: {:.2} s wall, {:.2} s cpu", f.as_secs_f64(), cpu_secs() - cpu0);
		}
		let p = libp2p(&src, dir.path(), mib, round).await;
		println!(
			"round {round}: plain TCP {:7.1} MiB/s   floor {:7.1} MiB/s   libp2p {:7.1} MiB/s",
			rate(t),
			rate(f),
			rate(p)
		);
		tcp.push(rate(t));
		floor.push(rate(f));
		p2p.push(rate(p));
		let _ = std::fs::remove_dir_all(dir.path().join(format!("b{round}")));
		let _ = std::fs::remove_dir_all(dir.path().join(format!("a{round}")));
	}
	let median = |v: &mut Vec<f64>| {
		v.sort_by(f64::total_cmp);
		v[v.len() / 2]
	};
	// Each round's libp2p rate against the plain copy of the same round: how much a single round says.
	let mut per_round: Vec<f64> = p2p.iter().zip(&tcp).map(|(p, t)| p / t).collect();
	let (t, f, p) = (median(&mut tcp), median(&mut floor), median(&mut p2p));
	let (alg, suite) = tls_aead();
	println!("blob {mib} MiB, {rounds} rounds, medians:");
	println!("  plain TCP copy (loopback, file to file): {t:.1} MiB/s");
	println!("  floor (plain copy + BLAKE3 both sides + {suite} records): {f:.1} MiB/s");
	let transport = if std::env::var_os("BENCH_QUIC").is_some() { "QUIC" } else { "TCP+TLS+yamux" };
	println!("  libp2p blob exchange ({transport}, verified, stored): {p:.1} MiB/s");
	println!("  ratio libp2p / plain: {:.2}x (goal >= 0.70x)", p / t);
	println!("  ratio floor / plain: {:.2}x   libp2p / floor: {:.2}x", f / t, p / f);
	let m = median(&mut per_round); // sorts
	println!(
		"  libp2p / plain round by round: median {m:.2}x, lowest {:.2}x, highest {:.2}x",
		per_round[0],
		per_round[per_round.len() - 1]
	);
	println!(
		"  ciphers alone (seal + open, one core): {suite} {:.1} MiB/s, ChaCha20-Poly1305 (noise) {:.1} MiB/s",
		cipher_rate(mib, alg),
		cipher_rate(mib, &ring::aead::CHACHA20_POLY1305)
	);
}
