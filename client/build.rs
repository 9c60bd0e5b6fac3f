//! The typed chain API is generated from `metadata/tributary.scale` by the `subxt` macro, which
//! does not tell cargo it read the file: without this, a regenerated metadata file leaves the
//! crate (and the CLI) compiled against the old one until some source file changes.

fn main() {
	println!("cargo:rerun-if-changed=metadata/tributary.scale");
}
