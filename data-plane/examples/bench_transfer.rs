//! Transfer benchmark (run through `scripts/bench-transfer`): the same blob moved between two local
//! peers over libp2p (noise + yamux over TCP, verified 1 MiB groups, written to the content store) and
//! by a plain TCP copy on loopback (file -> socket -> file, synced), in the same process and run.
//! Prints both throughputs and their ratio.
//!
//! Usage: bench_transfer [MiB (default 256)] [rounds (default 3)]; BENCH_QUIC=1 uses QUIC instead of TCP,
//! BENCH_WINDOW=n sets the requests in flight, BENCH_DEBUG=1 prints groups received and the CPU time
//! of the libp2p transfer, BENCH_PERF_CTL=fifo drives `perf record --delay=-1 --control=fifo:fifo` so
//! that only the libp2p transfers are profiled.

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

/// Seals and opens `mib` MiB in noise's 65519-byte frames with the cipher libp2p-noise uses, on one
/// core: the floor on what an encrypted transfer costs, printed beside the two transfers.
fn cipher_rate(mib: u64) -> f64 {
	use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
	let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[7u8; 32]).unwrap());
	let mut frame = vec![5u8; 65519];
	let frames = (mib << 20) / frame.len() as u64;
	let nonce = |i: u64| {
		let mut n = [0u8; 12];
		n[4..].copy_from_slice(&i.to_le_bytes());
		Nonce::assume_unique_for_key(n)
	};
	let start = Instant::now();
	for i in 0..frames {
		let tag = key.seal_in_place_separate_tag(nonce(i), Aad::empty(), &mut frame).unwrap();
		let mut sealed = std::mem::take(&mut frame);
		sealed.extend_from_slice(tag.as_ref());
		frame = key.open_in_place(nonce(i), Aad::empty(), &mut sealed).unwrap().to_vec();
	}
	mib as f64 / start.elapsed().as_secs_f64()
}

/// Tells `perf record --control=fifo:PATH` (started with `--delay=-1`) to sample only the timed part.
fn perf_ctl(fifo: &Option<String>, cmd: &[u8]) {
	if let Some(p) = fifo {
		std::fs::OpenOptions::new().write(true).open(p).unwrap().write_all(cmd).unwrap();
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
	let ctl = std::env::var("BENCH_PERF_CTL").ok();
	perf_ctl(&ctl, b"enable\n");
	let cpu0 = cpu_secs();
	let start = Instant::now();
	let mut opts = FetchOptions { providers: vec![pa], ..Default::default() };
	if let Some(w) = std::env::var("BENCH_WINDOW").ok().and_then(|s| s.parse().ok()) {
		(opts.window, opts.per_provider) = (w, w);
	}
	let r = fetch(&b, hash, opts).await.unwrap();
	let t = start.elapsed();
	perf_ctl(&ctl, b"disable\n");
	if std::env::var_os("BENCH_DEBUG").is_some() {
		eprintln!(
			"received {:?} of {} groups, {:.2} s wall, {:.2} s cpu",
			r.received.values().sum::<u64>(),
			r.groups,
			t.as_secs_f64(),
			cpu_secs() - cpu0
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
	let rounds: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
	let dir =
		tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "/tmp".into())).unwrap();
	let src = dir.path().join("blob");
	write_blob(&src, mib);
	let rate = |d: Duration| mib as f64 / d.as_secs_f64();
	let (mut tcp, mut p2p) = (vec![], vec![]);
	for round in 0..rounds {
		let copy = dir.path().join("copy");
		let _ = std::fs::remove_file(&copy);
		recycle_page_cache(dir.path(), mib);
		let t = plain_tcp(&src, &copy);
		let p = libp2p(&src, dir.path(), mib, round).await;
		println!("round {round}: plain TCP {:7.1} MiB/s   libp2p {:7.1} MiB/s", rate(t), rate(p));
		tcp.push(rate(t));
		p2p.push(rate(p));
		let _ = std::fs::remove_dir_all(dir.path().join(format!("b{round}")));
		let _ = std::fs::remove_dir_all(dir.path().join(format!("a{round}")));
	}
	let median = |v: &mut Vec<f64>| {
		v.sort_by(f64::total_cmp);
		v[v.len() / 2]
	};
	let (t, p) = (median(&mut tcp), median(&mut p2p));
	println!("blob {mib} MiB, {rounds} rounds, medians:");
	println!("  plain TCP copy (loopback, file to file): {t:.1} MiB/s");
	let transport =
		if std::env::var_os("BENCH_QUIC").is_some() { "QUIC" } else { "TCP+noise+yamux" };
	println!("  libp2p blob exchange ({transport}, verified, stored): {p:.1} MiB/s");
	println!("  ratio libp2p / plain: {:.2}x (goal >= 0.70x)", p / t);
	println!(
		"  noise's cipher alone (ChaCha20-Poly1305, seal + open, one core): {:.1} MiB/s",
		cipher_rate(mib)
	);
}
