//! Harness for end-to-end tests: starts real `tributary-node` processes on free loopback ports
//! with temporary base paths, runs the `tributary` CLI, and stops everything when dropped.

use anyhow::{bail, Context, Result};
use std::{
	io::{BufRead, BufReader},
	net::TcpListener,
	path::PathBuf,
	process::{Child, Command, Stdio},
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

/// The directory holding the workspace's binaries: the test executable lives in `<dir>/deps`.
pub fn bin_dir() -> PathBuf {
	let exe = std::env::current_exe().expect("test executable path");
	exe.parent().and_then(|d| d.parent()).expect("target/<profile>").to_path_buf()
}

fn binary(name: &str) -> Result<PathBuf> {
	let p = bin_dir().join(name);
	if !p.exists() {
		bail!("{} is missing: build it first (`cargo build -p tributary-node -p tributary-client`; scripts/test.sh does)", p.display());
	}
	Ok(p)
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0")
		.and_then(|l| l.local_addr())
		.map(|a| a.port())
		.expect("free port")
}

/// A running node; killed on drop. Its log is kept for assertions and failure reports.
pub struct Node {
	child: Child,
	pub rpc_port: u16,
	pub p2p_port: u16,
	pub log: Arc<Mutex<Vec<String>>>,
	_base: tempfile::TempDir,
	name: String,
}

impl Node {
	/// Starts `tributary-node` with `args` plus loopback-only networking on fresh ports.
	pub fn start(name: &str, args: &[&str]) -> Result<Node> {
		let base = tempfile::tempdir()?;
		let rpc_port = free_port();
		let p2p_port = free_port();
		let listen = format!("/ip4/127.0.0.1/tcp/{p2p_port}");
		let mut cmd = Command::new(binary("tributary-node")?);
		cmd.args(args)
			.args(["--base-path", base.path().to_str().expect("utf-8 temp path")])
			.args(["--rpc-port", &rpc_port.to_string()])
			.args(["--listen-addr", &listen])
			.args(["--no-prometheus", "--no-telemetry", "--no-mdns"])
			.args(["--name", name])
			.stdout(Stdio::null())
			.stderr(Stdio::piped());
		let mut child = cmd.spawn().context("starting tributary-node")?;
		let log = Arc::new(Mutex::new(Vec::new()));
		let stderr = child.stderr.take().expect("piped stderr");
		let sink = log.clone();
		std::thread::spawn(move || {
			for line in BufReader::new(stderr).lines().map_while(Result::ok) {
				sink.lock().expect("log lock").push(line);
			}
		});
		Ok(Node { child, rpc_port, p2p_port, log, _base: base, name: name.to_string() })
	}

	pub fn url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// Waits until a log line contains `needle`; returns that line.
	pub fn wait_log(&mut self, needle: &str, timeout: Duration) -> Result<String> {
		let start = Instant::now();
		loop {
			if let Some(l) = self.log.lock().expect("log lock").iter().find(|l| l.contains(needle))
			{
				return Ok(l.clone());
			}
			if let Some(status) = self.child.try_wait()? {
				bail!(
					"node {} exited ({status}) before logging `{needle}`:\n{}",
					self.name,
					self.tail(40)
				);
			}
			if start.elapsed() > timeout {
				bail!(
					"node {} did not log `{needle}` within {timeout:?}:\n{}",
					self.name,
					self.tail(40)
				);
			}
			std::thread::sleep(Duration::from_millis(100));
		}
	}

	/// The node's libp2p peer id, from its start-up log.
	pub fn peer_id(&mut self) -> Result<String> {
		let line = self.wait_log("Local node identity is:", Duration::from_secs(60))?;
		Ok(line.split_whitespace().last().unwrap_or_default().to_string())
	}

	/// Waits for the RPC server to accept connections.
	pub fn wait_rpc(&mut self) -> Result<()> {
		self.wait_log("Running JSON-RPC server", Duration::from_secs(120))?;
		Ok(())
	}

	pub fn tail(&self, n: usize) -> String {
		let log = self.log.lock().expect("log lock");
		log[log.len().saturating_sub(n)..].join("\n")
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

/// Output of one CLI run.
pub struct CliOutput {
	pub ok: bool,
	pub stdout: String,
	pub stderr: String,
}

/// Runs the `tributary` CLI against `url` with a private keystore.
pub fn cli(url: &str, keystore: &std::path::Path, args: &[&str]) -> Result<CliOutput> {
	let out = Command::new(binary("tributary")?)
		.args(["--url", url, "--keystore", keystore.to_str().expect("utf-8 path")])
		.args(args)
		.env_remove("TRIBUTARY_KEY")
		.output()
		.context("running the tributary CLI")?;
	Ok(CliOutput {
		ok: out.status.success(),
		stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
		stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
	})
}
