//! Harness for end-to-end tests: starts real `tributary-node` and `tributary-worker` processes on free
//! loopback ports with temporary directories, runs the `tributary` CLI, and stops everything when
//! dropped.

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
		bail!("{} is missing: build the workspace first (`cargo build --workspace`; scripts/test.sh does)", p.display());
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

/// A child process whose stdout and stderr lines are collected; killed on drop.
pub struct Proc {
	child: Child,
	pub log: Arc<Mutex<Vec<String>>>,
	name: String,
}

impl Proc {
	pub fn spawn(name: &str, mut cmd: Command) -> Result<Proc> {
		cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
		let mut child = cmd.spawn().with_context(|| format!("starting {name}"))?;
		let log = Arc::new(Mutex::new(Vec::new()));
		let out = child.stdout.take().expect("piped stdout");
		let err = child.stderr.take().expect("piped stderr");
		for stream in [Box::new(out) as Box<dyn std::io::Read + Send>, Box::new(err)] {
			let sink = log.clone();
			std::thread::spawn(move || {
				for line in BufReader::new(stream).lines().map_while(Result::ok) {
					sink.lock().expect("log lock").push(line);
				}
			});
		}
		Ok(Proc { child, log, name: name.to_string() })
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
					"{} exited ({status}) before logging `{needle}`:\n{}",
					self.name,
					self.tail(40)
				);
			}
			if start.elapsed() > timeout {
				bail!(
					"{} did not log `{needle}` within {timeout:?}:\n{}",
					self.name,
					self.tail(40)
				);
			}
			std::thread::sleep(Duration::from_millis(20));
		}
	}

	/// Waits for the process to exit; returns whether it succeeded.
	pub fn wait_exit(&mut self, timeout: Duration) -> Result<bool> {
		let start = Instant::now();
		loop {
			if let Some(status) = self.child.try_wait()? {
				return Ok(status.success());
			}
			if start.elapsed() > timeout {
				bail!("{} still running after {timeout:?}:\n{}", self.name, self.tail(40));
			}
			std::thread::sleep(Duration::from_millis(50));
		}
	}

	/// The process's resident memory in KiB (Linux), if it is running.
	pub fn rss_kib(&self) -> Option<u64> {
		let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
		let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
		line.split_whitespace().nth(1)?.parse().ok()
	}

	pub fn kill(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}

	pub fn tail(&self, n: usize) -> String {
		let log = self.log.lock().expect("log lock");
		log[log.len().saturating_sub(n)..].join("\n")
	}
}

impl Drop for Proc {
	fn drop(&mut self) {
		self.kill();
	}
}

/// A running node on fresh loopback ports with a temporary base path; killed on drop.
pub struct Node {
	pub proc: Proc,
	pub rpc_port: u16,
	pub p2p_port: u16,
	_base: tempfile::TempDir,
	name: String,
	args: Vec<String>,
}

fn node_command(
	name: &str,
	args: &[String],
	base: &std::path::Path,
	rpc_port: u16,
	p2p_port: u16,
) -> Result<Command> {
	let listen = format!("/ip4/127.0.0.1/tcp/{p2p_port}");
	let mut cmd = Command::new(binary("tributary-node")?);
	cmd.args(args)
		.args(["--base-path", base.to_str().expect("utf-8 temp path")])
		.args(["--rpc-port", &rpc_port.to_string()])
		.args(["--listen-addr", &listen])
		.args(["--no-prometheus", "--no-telemetry", "--no-mdns"])
		.args(["--name", name]);
	Ok(cmd)
}

impl Node {
	/// Starts `tributary-node` with `args` plus loopback-only networking on fresh ports.
	pub fn start(name: &str, args: &[&str]) -> Result<Node> {
		let base = tempfile::tempdir()?;
		let rpc_port = free_port();
		let p2p_port = free_port();
		let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
		let cmd = node_command(name, &args, base.path(), rpc_port, p2p_port)?;
		Ok(Node {
			proc: Proc::spawn(&format!("node {name}"), cmd)?,
			rpc_port,
			p2p_port,
			_base: base,
			name: name.to_string(),
			args,
		})
	}

	/// Kills the node (SIGKILL, no clean shutdown) and starts it again on the same database,
	/// ports and arguments; waits for its RPC server.
	pub fn restart(&mut self) -> Result<()> {
		self.proc.kill();
		let cmd =
			node_command(&self.name, &self.args, self._base.path(), self.rpc_port, self.p2p_port)?;
		self.proc = Proc::spawn(&format!("node {} (restarted)", self.name), cmd)?;
		self.wait_rpc()
	}

	pub fn url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	pub fn wait_log(&mut self, needle: &str, timeout: Duration) -> Result<String> {
		self.proc.wait_log(needle, timeout)
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
		self.proc.tail(n)
	}
}

/// A `tributary-worker` process with its own data directory (identity, store, journal).
pub struct Worker {
	pub proc: Proc,
	pub dir: PathBuf,
	/// Listen addresses, each ending in /p2p/<peer id>.
	pub addrs: Vec<String>,
}

impl Worker {
	/// Runs `tributary-worker --data-dir DIR <args>` and, for long-running subcommands, waits until it
	/// listens (its `worker.json` appears).
	pub fn start(name: &str, dir: &std::path::Path, args: &[&str]) -> Result<Worker> {
		Self::start_binary("tributary-worker", name, dir, args)
	}

	/// [`Worker::start`] with another build of the worker (the test-only falsifier).
	pub fn start_binary(
		binary_name: &str,
		name: &str,
		dir: &std::path::Path,
		args: &[&str],
	) -> Result<Worker> {
		let _ = std::fs::remove_file(dir.join("worker.json"));
		let mut cmd = Command::new(binary(binary_name)?);
		cmd.args(["--data-dir", dir.to_str().expect("utf-8 path")]).args(args);
		cmd.env("RUST_LOG", "info,libp2p=warn");
		let mut proc = Proc::spawn(&format!("worker {name}"), cmd)?;
		let info = dir.join("worker.json");
		let start = Instant::now();
		while !info.exists() {
			if start.elapsed() > Duration::from_secs(60) {
				bail!("worker {name} did not start listening:\n{}", proc.tail(40));
			}
			if proc.child.try_wait()?.is_some() {
				bail!("worker {name} exited at start:\n{}", proc.tail(40));
			}
			std::thread::sleep(Duration::from_millis(20));
		}
		proc.wait_log("listening on", Duration::from_secs(10))?;
		let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&info)?)?;
		let addrs = v["addrs"]
			.as_array()
			.context("worker.json has addrs")?
			.iter()
			.filter_map(|a| a.as_str().map(str::to_string))
			.collect();
		Ok(Worker { proc, dir: dir.to_path_buf(), addrs })
	}

	/// The TCP listen address (with /p2p/<id>).
	pub fn tcp_addr(&self) -> String {
		self.addrs.iter().find(|a| a.contains("/tcp/")).cloned().expect("a TCP address")
	}
}

/// Output of one CLI run.
pub struct CliOutput {
	pub ok: bool,
	pub stdout: String,
	pub stderr: String,
}

/// Runs `tributary-worker` with `args` to completion (the ModelFactory commands).
pub fn worker_cli(args: &[&str]) -> Result<CliOutput> {
	let out = Command::new(binary("tributary-worker")?)
		.args(args)
		.output()
		.context("running tributary-worker")?;
	Ok(CliOutput {
		ok: out.status.success(),
		stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
		stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
	})
}

/// A file a fetch script puts in the shared cache: `$env` if set, else `~/.cache/tributary/<rel>`;
/// a test that needs it fails with the script to run when it is missing.
pub fn cached(env: &str, rel: &str, script: &str) -> String {
	let p = std::env::var(env).map(PathBuf::from).unwrap_or_else(|_| {
		PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/tributary").join(rel)
	});
	assert!(p.exists(), "{} is missing: run scripts/{script}", p.display());
	p.to_str().expect("utf-8 path").to_string()
}

/// Starts `tributary-worker` with `args`, without waiting for it.
pub fn worker_spawn(name: &str, args: &[&str]) -> Result<Proc> {
	let mut cmd = Command::new(binary("tributary-worker")?);
	cmd.args(args);
	Proc::spawn(name, cmd)
}

/// Starts the `tributary` CLI against `url` with a private keystore, without waiting for it.
pub fn cli_spawn(name: &str, url: &str, keystore: &std::path::Path, args: &[&str]) -> Result<Proc> {
	let mut cmd = Command::new(binary("tributary")?);
	cmd.args(["--url", url, "--keystore", keystore.to_str().expect("utf-8 path")])
		.args(args)
		.env_remove("TRIBUTARY_KEY")
		.env_remove("TRIBUTARY_WORKER_URL");
	Proc::spawn(name, cmd)
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
