//! The worker's [`Vouch`]: a push is taken only for content an on-chain record declares (see
//! `data_plane::admission`). A pending contribution vouches for its own hash and size (its author
//! paid its deposit and fee to submit it); a registered base model for each of its files.

use data_plane::{Vouch, Voucher};
use tokio::sync::Mutex;
use tributary_client::client::Decision;
use tributary_client::client::Head;
use tributary_client::Client;

pub struct ChainVouch {
	url: String,
	client: Mutex<Option<Client>>,
}

impl ChainVouch {
	pub fn new(url: &str) -> Self {
		Self { url: url.to_string(), client: Mutex::new(None) }
	}

	/// Asks the chain; a connection the node dropped (a restart) is opened again at once, once.
	async fn check(&self, hash: &[u8; 32], size: u64, voucher: &Voucher) -> Result<(), String> {
		let mut client = self.client.lock().await;
		let mut last = String::new();
		for _ in 0..2 {
			if client.is_none() {
				// At the best block: an upload follows its record's inclusion, often before
				// finality.
				match Client::connect(&self.url).await {
					Ok(c) => *client = Some(c.reading(Head::Best)),
					Err(e) => {
						return Err(format!("cannot check the chain now ({e}); try again later"))
					}
				}
			}
			match lookup(client.as_ref().expect("connected"), hash, size, voucher).await {
				Ok(verdict) => return verdict,
				Err(e) => {
					*client = None;
					last = e.to_string();
				}
			}
		}
		Err(format!("cannot check the chain now ({last}); try again later"))
	}
}

/// What the chain says of `voucher`: `Ok(verdict)`, or the client's error when it could not ask.
async fn lookup(
	c: &Client,
	hash: &[u8; 32],
	size: u64,
	voucher: &Voucher,
) -> Result<Result<(), String>, tributary_client::ClientError> {
	match voucher {
		Voucher::Contribution(id) => Ok(match c.find_contribution(*id).await? {
			Some(r)
				if r.content_hash.trim_start_matches("0x") != hex::encode(hash)
					|| r.bytes != size =>
			{
				Err(format!("contribution {id} declares other content"))
			}
			Some(r) if r.decision != Decision::Pending => {
				Err(format!("contribution {id} is no longer pending"))
			}
			Some(_) => Ok(()),
			None => Err(format!("no record: contribution {id} is not on chain")),
		}),
		Voucher::BaseModel(id) => match c.base_model(*id).await {
			Ok(m) if m.spec.files.iter().any(|f| f.hash == *hash && f.bytes == size) => Ok(Ok(())),
			Ok(_) => Ok(Err(format!("base model {id} has no file of this hash and size"))),
			Err(tributary_client::ClientError::NotFound { .. }) => {
				Ok(Err(format!("no record: base model {id} is not on chain")))
			}
			Err(e) => Err(e),
		},
	}
}

#[async_trait::async_trait]
impl Vouch for ChainVouch {
	async fn vouch(&self, hash: &[u8; 32], size: u64, voucher: &Voucher) -> Result<(), String> {
		self.check(hash, size, voucher).await
	}
}
