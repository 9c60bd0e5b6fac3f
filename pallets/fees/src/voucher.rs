//! The bytes a payer signs for a voucher, as the chain checks them and as wallets and the
//! worker build them: the SCALE encoding of `("tributary/voucher", genesis hash, voucher)`. The
//! genesis hash keeps a voucher from being replayed on another chain. Browser wallets sign raw
//! bytes wrapped in `<Bytes>`…`</Bytes>`; both forms are accepted.

use crate::types::Voucher;
use alloc::vec::Vec;
use codec::Encode;
use sp_runtime::traits::{IdentifyAccount, Verify};

/// What every voucher payload starts with.
pub const CONTEXT: &[u8; 17] = b"tributary/voucher";

/// The bytes the payer signs.
pub fn payload<AccountId: Encode, Balance: Encode, Hash: Encode>(
	genesis: &Hash,
	voucher: &Voucher<AccountId, Balance>,
) -> Vec<u8> {
	(CONTEXT, genesis, voucher).encode()
}

/// Whether `signature` is `signer`'s over `payload`, plain or wrapped as browser wallets sign.
pub fn verify<S: Verify>(
	signature: &S,
	payload: &[u8],
	signer: &<S::Signer as IdentifyAccount>::AccountId,
) -> bool
where
	S::Signer: IdentifyAccount,
{
	if signature.verify(payload, signer) {
		return true;
	}
	let mut wrapped = Vec::with_capacity(payload.len() + 15);
	wrapped.extend_from_slice(b"<Bytes>");
	wrapped.extend_from_slice(payload);
	wrapped.extend_from_slice(b"</Bytes>");
	signature.verify(&wrapped[..], signer)
}
