//! Transfer benchmark (run through `scripts/bench-transfer`): the same blob moved between two local
//! peers over libp2p (noise + yamux over TCP, verified 1 MiB groups, written to the content store) and
//! by a plain TCP copy on loopback (file -> socket -> file, synced), in the same process and run.
//! Prints both throughputs and their ratio.
//!
//! Usage: bench_transfer [MiB (default 256)] [rounds (default 3)]; BENCH_QUIC=1 uses QUIC instead of TCP,
//! BENCH_WINDOW=n sets the requests in flight, BENCH_DEBUG=1 prints groups received.

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

async fn libp2p(src: &Path, dir: &Path, round: u32) -> Duration {
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
	let start = Instant::now();
	let mut opts = FetchOptions { providers: vec![pa], ..Default::default() };
	if let Some(w) = std::env::var("BENCH_WINDOW").ok().and_then(|s| s.parse().ok()) {
		(opts.window, opts.per_provider) = (w, w);
	}
	let r = fetch(&b, hash, opts).await.unwrap();
	let t = start.elapsed();
	if std::env::var_os("BENCH_DEBUG").is_some() {
		eprintln!("received {:?} of {} groups", r.received.values().sum::<u64>(), r.groups);
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
		let t = plain_tcp(&src, &dir.path().join("copy"));
		let p = libp2p(&src, dir.path(), round).await;
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
}
