//! With the `cuda` feature, compiles this crate's CUDA kernels (src/cuda/*.cu) to PTX with nvcc for
//! `CUDA_COMPUTE_CAP` (default 90, the lent H100/H200 machines). The driver JIT-compiles the PTX
//! when a kernel is first loaded. Without the feature this does nothing.
use std::path::PathBuf;
use std::process::Command;

/// Kernel sources under src/cuda, by file stem.
const KERNELS: &[&str] = &["nf4"];

fn main() {
	println!("cargo::rerun-if-changed=src/cuda");
	println!("cargo::rerun-if-env-changed=NVCC");
	println!("cargo::rerun-if-env-changed=CUDA_COMPUTE_CAP");
	if std::env::var_os("CARGO_FEATURE_CUDA").is_none() {
		return;
	}
	let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
	let nvcc = std::env::var("NVCC").unwrap_or_else(|_| "nvcc".into());
	let cap = std::env::var("CUDA_COMPUTE_CAP").unwrap_or_else(|_| "90".into());
	for name in KERNELS {
		let src = format!("src/cuda/{name}.cu");
		let ptx = out.join(format!("{name}.ptx"));
		let status = Command::new(&nvcc)
			.args(["--ptx", "-O3", "-std=c++17", &format!("-arch=compute_{cap}"), "-o"])
			.arg(&ptx)
			.arg(&src)
			.status()
			.unwrap_or_else(|e| {
				panic!("cannot run nvcc ({nvcc}): {e}; scripts/cuda-toolkit.sh installs CUDA 13.0")
			});
		assert!(status.success(), "nvcc failed on {src}");
	}
}
