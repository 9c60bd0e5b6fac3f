//! `tributary balance` and `tributary transfer`: what an account holds, and sending TRIB.

use crate::{connect, print_json, signer, ss58, trib, Cli};
use anyhow::Result;
use tributary_client::training::parse_trib;

/// `balance [ADDRESS]`: --key's account when no address is given.
pub async fn balance(cli: &Cli, address: Option<&str>) -> Result<()> {
	let who = match address {
		Some(a) => ss58(a)?,
		None => signer(cli)?.account_id(),
	};
	let b = connect(cli).await?.balance(&who).await?;
	if cli.json {
		print_json(&serde_json::json!({
			"account": who.to_string(),
			"free": b.free.to_string(),
			"reserved": b.reserved.to_string(),
			"frozen": b.frozen.to_string(),
		}));
	} else {
		println!("{who}");
		println!("  free      {}", trib(b.free));
		println!("  held      {}  (deposits and bonds)", trib(b.reserved));
		if b.frozen > 0 {
			println!("  frozen    {}  (part of free that locks keep)", trib(b.frozen));
		}
	}
	Ok(())
}

/// `transfer TO AMOUNT`, signed with --key.
pub async fn transfer(cli: &Cli, to: &str, amount: &str) -> Result<()> {
	let key = signer(cli)?;
	let to = ss58(to)?;
	let plancks = parse_trib(amount)?;
	connect(cli).await?.transfer(&key, to.clone(), plancks).await?;
	println!("sent {} from {} to {to}", trib(plancks), key.ss58());
	Ok(())
}
