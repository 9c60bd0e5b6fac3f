use crate::{mock::*, *};
use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
	BoundedVec,
};
use sp_core::{Pair, H256};

fn free(who: &AccountId) -> Balance {
	Balances::balance(who)
}

fn held(who: &AccountId) -> Balance {
	Balances::balance_on_hold(&RuntimeHoldReason::Fees(HoldReason::Tab), who)
}

fn genesis() -> H256 {
	System::block_hash(0)
}

/// `signer`'s voucher for `worker`'s tab `tab`, over the chain's genesis.
fn voucher(
	signer: &str,
	payer: AccountId,
	tab: TabId,
	worker: AccountId,
	model: ModelId,
	cumulative: Balance,
) -> SignedVoucher<AccountId, Balance, Signature> {
	let voucher = Voucher { tab, worker, model, cumulative };
	let signature = pair(signer).sign(&voucher::payload(&genesis(), &voucher)).into();
	SignedVoucher { payer, voucher, signature }
}

fn paid(model: ModelId, cumulative: Balance) -> SignedVoucher<AccountId, Balance, Signature> {
	voucher("Payer", payer(), 0, worker(), model, cumulative)
}

/// Charges each voucher in full.
fn settle(
	who: AccountId,
	vouchers: Vec<SignedVoucher<AccountId, Balance, Signature>>,
) -> frame_support::dispatch::DispatchResult {
	let charges = vouchers.into_iter().map(|v| (v.voucher.cumulative, v)).collect();
	settle_charges(who, charges)
}

fn settle_charges(
	who: AccountId,
	charges: Vec<(Balance, SignedVoucher<AccountId, Balance, Signature>)>,
) -> frame_support::dispatch::DispatchResult {
	let vouchers: Vec<_> =
		charges.into_iter().map(|(total, signed)| Charge { signed, total }).collect();
	let usage = UsageCommitment {
		root: [1; 32],
		receipts: vouchers.len() as u32,
		file: [2; 32],
		bytes: 99,
	};
	Fees::settle(RuntimeOrigin::signed(who), usage, BoundedVec::truncate_from(vouchers))
}

fn refused(reason: VoucherRefusal) -> bool {
	System::events()
		.iter()
		.any(|e| matches!(&e.event, RuntimeEvent::Fees(Event::VoucherRefused { reason: r, .. }) if *r == reason))
}

fn check() {
	assert_ok!(Fees::do_try_state());
	assert_ok!(Rewards::do_try_state());
}

#[test]
fn a_tab_holds_funds_for_one_worker_until_closed_and_withdrawn() {
	new_test_ext().execute_with(|| {
		let p = RuntimeOrigin::signed(payer());
		assert_noop!(Fees::fund_tab(p.clone(), worker(), MIN_TAB - 1), Error::<Test>::TabTooSmall);
		assert_noop!(Fees::fund_tab(p.clone(), payer(), MIN_TAB), Error::<Test>::SelfTab);
		assert_noop!(
			Fees::fund_tab(p.clone(), worker(), START + 1),
			sp_runtime::TokenError::FundsUnavailable
		);
		assert_ok!(Fees::fund_tab(p.clone(), worker(), 5_000));
		// A top-up may be small; the tab keeps its id.
		assert_ok!(Fees::fund_tab(p.clone(), worker(), 1));
		assert_eq!(
			Fees::tab(&payer(), &worker()),
			Some(Tab { id: 0, balance: 5_001, closes_at: None })
		);
		assert_eq!((free(&payer()), held(&payer())), (START - 5_001, 5_001));
		check();

		assert_noop!(Fees::withdraw(p.clone(), worker()), Error::<Test>::TabNotClosed);
		assert_ok!(Fees::close_tab(p.clone(), worker()));
		assert_noop!(Fees::close_tab(p.clone(), worker()), Error::<Test>::TabClosing);
		assert_noop!(Fees::fund_tab(p.clone(), worker(), 5_000), Error::<Test>::TabClosing);
		System::set_block_number(1 + CLOSE_DELAY - 1);
		assert_noop!(Fees::withdraw(p.clone(), worker()), Error::<Test>::TabNotClosed);
		System::set_block_number(1 + CLOSE_DELAY);
		assert_ok!(Fees::withdraw(p.clone(), worker()));
		assert_eq!((free(&payer()), held(&payer())), (START, 0));
		assert_eq!(Fees::tab(&payer(), &worker()), None);
		assert_noop!(Fees::withdraw(p.clone(), worker()), Error::<Test>::NoTab);
		// A new tab gets a new id.
		assert_ok!(Fees::fund_tab(p, worker(), MIN_TAB));
		assert_eq!(Fees::tab(&payer(), &worker()).unwrap().id, 1);
		check();
	});
}

#[test]
fn a_worker_is_paid_each_vouchers_rise_by_the_split_once_per_period() {
	new_test_ext().execute_with(|| {
		assert_ok!(Fees::fund_tab(RuntimeOrigin::signed(payer()), worker(), 100_000));
		let before = (free(&worker()), free(&owner()));
		// Two models on one tab; the older voucher of model 1 is superseded by the newer one.
		assert_ok!(settle(
			worker(),
			vec![paid(MODEL, 10_000), paid(MODEL, 30_000), paid(OTHER_MODEL, 5_000)]
		));
		// Worker 30%, owner 10% at once; contributors and curators in each job's fee pool.
		assert_eq!(free(&worker()), before.0 + 9_000 + 1_500);
		assert_eq!(free(&owner()), before.1 + 3_000 + 500);
		let pool = pallet_rewards::FeePools::<Test>::get(10, 0).unwrap();
		assert_eq!(
			(pool.contributors, pool.curators, pool.root, pool.leaves),
			(15_000, 3_000, TABLE_ROOT, 3)
		);
		assert_eq!(pallet_rewards::FeePools::<Test>::get(20, 0).unwrap().contributors, 2_500);
		assert_eq!(held(&payer()), 100_000 - 35_000);
		assert_eq!(Spent::<Test>::get(0, MODEL), 30_000);
		assert_eq!(Settlements::<Test>::get(worker(), 0).unwrap().1, 35_000);
		check();

		// Once per period.
		assert_noop!(settle(worker(), vec![paid(MODEL, 40_000)]), Error::<Test>::AlreadySettled);
		System::set_block_number(FEE_PERIOD);
		// Replaying a paid voucher pays nothing; a higher one pays only its rise.
		assert_ok!(settle(worker(), vec![paid(MODEL, 30_000), paid(MODEL, 32_000)]));
		assert!(refused(VoucherRefusal::NothingOwed));
		assert_eq!(Spent::<Test>::get(0, MODEL), 32_000);
		assert_eq!(pallet_rewards::FeePools::<Test>::get(10, 1).unwrap().contributors, 1_000);
		assert_eq!(held(&payer()), 100_000 - 37_000);
		check();
	});
}

#[test]
fn forged_foreign_stale_and_unpayable_vouchers_pay_nothing_and_stop_nothing_else() {
	new_test_ext().execute_with(|| {
		assert_ok!(Fees::fund_tab(RuntimeOrigin::signed(payer()), worker(), 100_000));
		assert_ok!(Fees::fund_tab(RuntimeOrigin::signed(outsider()), worker(), 100_000));
		let before = free(&worker());
		let forged = voucher("Worker", payer(), 0, worker(), MODEL, 50_000);
		// The outsider's real tab with the worker is tab 1: its voucher cannot name the payer's.
		let mut grafted = voucher("Outsider", outsider(), 1, worker(), MODEL, 50_000);
		grafted.payer = payer();
		let mut inflated = paid(MODEL, 1_000);
		inflated.voucher.cumulative = 90_000;
		let other_chain = {
			let v = Voucher { tab: 0, worker: worker(), model: MODEL, cumulative: 60_000 };
			let s = pair("Payer").sign(&voucher::payload(&H256::repeat_byte(9), &v)).into();
			SignedVoucher { payer: payer(), voucher: v, signature: s }
		};
		let unknown = paid(99, 1_000);
		let orphan = paid(ORPHAN_MODEL, 1_000);
		assert_ok!(settle(
			worker(),
			vec![forged, grafted, inflated, other_chain, unknown, orphan, paid(MODEL, 2_000)]
		));
		for r in [
			VoucherRefusal::BadSignature,
			VoucherRefusal::UnknownModel,
			VoucherRefusal::PaymentFailed,
		] {
			assert!(refused(r), "{r:?}");
		}
		// Only the genuine voucher paid.
		assert_eq!(free(&worker()), before + 600);
		assert_eq!(held(&payer()), 100_000 - 2_000);
		assert_eq!(held(&outsider()), 100_000);
		check();

		// Another worker cannot cash the payer's voucher for this worker: its own key has no tab
		// of that id, and the voucher names this worker.
		System::set_block_number(FEE_PERIOD);
		assert_ok!(Fees::fund_tab(RuntimeOrigin::signed(payer()), outsider(), 100_000));
		let mut stolen = paid(MODEL, 9_000);
		assert_ok!(settle(outsider(), vec![stolen.clone()]));
		assert!(refused(VoucherRefusal::WrongTab));
		// Rewritten to name the outsider's own tab with the payer, the signature no longer holds.
		System::reset_events();
		System::set_block_number(2 * FEE_PERIOD);
		stolen.voucher.tab = 2;
		stolen.voucher.worker = outsider();
		assert_ok!(settle(outsider(), vec![stolen]));
		assert!(refused(VoucherRefusal::BadSignature));
		assert_eq!(held(&payer()), 100_000 - 2_000 + 100_000);
		check();
	});
}

#[test]
fn a_voucher_beyond_its_tab_pays_the_tab_then_the_rest_after_a_top_up_and_old_tabs_stay_dead() {
	new_test_ext().execute_with(|| {
		let p = RuntimeOrigin::signed(payer());
		assert_ok!(Fees::fund_tab(p.clone(), worker(), 10_000));
		assert_ok!(settle(worker(), vec![paid(MODEL, 25_000)]));
		assert_eq!(Spent::<Test>::get(0, MODEL), 10_000);
		assert_eq!(held(&payer()), 0);
		System::set_block_number(FEE_PERIOD);
		assert_ok!(settle(worker(), vec![paid(MODEL, 25_000)]));
		assert!(refused(VoucherRefusal::TabEmpty));
		assert_ok!(Fees::fund_tab(p.clone(), worker(), 20_000));
		System::set_block_number(2 * FEE_PERIOD);
		assert_ok!(settle(worker(), vec![paid(MODEL, 25_000)]));
		assert_eq!(Spent::<Test>::get(0, MODEL), 25_000);
		assert_eq!(held(&payer()), 5_000);
		check();

		// The worker may settle while the tab closes, not after it is withdrawn; vouchers of the
		// old tab never draw on the next one.
		assert_ok!(Fees::close_tab(p.clone(), worker()));
		System::set_block_number(3 * FEE_PERIOD);
		assert_ok!(settle(worker(), vec![paid(MODEL, 26_000)]));
		assert_eq!(held(&payer()), 4_000);
		System::set_block_number(2 * FEE_PERIOD + CLOSE_DELAY);
		assert_ok!(Fees::withdraw(p.clone(), worker()));
		assert_eq!(Spent::<Test>::get(0, MODEL), 0);
		assert_ok!(Fees::fund_tab(p, worker(), 50_000));
		System::set_block_number(10 * FEE_PERIOD);
		assert_ok!(settle(worker(), vec![paid(MODEL, 40_000)]));
		assert!(refused(VoucherRefusal::WrongTab));
		assert_eq!(held(&payer()), 50_000);
		check();
	});
}

#[test]
fn a_browser_wallets_wrapped_signature_is_accepted() {
	new_test_ext().execute_with(|| {
		assert_ok!(Fees::fund_tab(RuntimeOrigin::signed(payer()), worker(), 10_000));
		let v = Voucher { tab: 0, worker: worker(), model: MODEL, cumulative: 1_000 };
		let mut wrapped = b"<Bytes>".to_vec();
		wrapped.extend(voucher::payload(&genesis(), &v));
		wrapped.extend(b"</Bytes>");
		let signature = pair("Payer").sign(&wrapped).into();
		assert_ok!(settle(worker(), vec![SignedVoucher { payer: payer(), voucher: v, signature }]));
		assert_eq!(held(&payer()), 9_000);
	});
}

#[test]
fn workers_publish_prices_and_zero_means_free() {
	new_test_ext().execute_with(|| {
		assert_ok!(Fees::set_price(RuntimeOrigin::signed(worker()), 250));
		assert_eq!(Prices::<Test>::get(worker()), Some(250));
		assert_ok!(Fees::set_price(RuntimeOrigin::signed(worker()), 0));
		assert_eq!(Prices::<Test>::get(worker()), None);
	});
}

#[test]
fn a_worker_charges_what_it_served_never_more_than_the_voucher_allows() {
	new_test_ext().execute_with(|| {
		assert_ok!(Fees::fund_tab(RuntimeOrigin::signed(payer()), worker(), 100_000));
		// The payer authorised up to 10,000; the worker served 3,200.
		assert_ok!(settle_charges(worker(), vec![(3_200, paid(MODEL, 10_000))]));
		assert_eq!(Spent::<Test>::get(0, MODEL), 3_200);
		assert_eq!(held(&payer()), 100_000 - 3_200);
		System::set_block_number(FEE_PERIOD);
		assert_ok!(settle_charges(worker(), vec![(10_001, paid(MODEL, 10_000))]));
		assert!(refused(VoucherRefusal::OverVoucher));
		assert_ok!(Fees::do_try_state());
		System::set_block_number(2 * FEE_PERIOD);
		assert_ok!(settle_charges(worker(), vec![(10_000, paid(MODEL, 10_000))]));
		assert_eq!(held(&payer()), 100_000 - 10_000);
		check();
	});
}
