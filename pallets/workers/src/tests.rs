//! Unit tests of the workers pallet. Every test ends with `try_state`.

use crate::{mock::*, *};
use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
	BoundedVec,
};
use sp_runtime::TokenError;

type E = Error<Test>;

fn caps() -> Capabilities {
	Capabilities { device: Device::Cpu, memory_mib: 16_384, max_model_params: 500_000_000 }
}

fn peer() -> PeerIdOf<Test> {
	BoundedVec::truncate_from(vec![0x12, 0x20, 7, 7, 7])
}

fn addrs() -> AddrsOf<Test> {
	BoundedVec::truncate_from(vec![BoundedVec::truncate_from(b"/ip4/127.0.0.1/tcp/4001".to_vec())])
}

fn register(who: AccountId, bond: Balance) -> sp_runtime::DispatchResult {
	Workers::register(RuntimeOrigin::signed(who), bond, peer(), addrs(), caps())
}

fn held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::WorkerBond.into(), &who)
}

#[test]
fn register_holds_the_bond_and_makes_an_active_worker() {
	run_test(|| {
		assert_ok!(register(W1, 2_000));
		assert_eq!(held(W1), 2_000);
		assert_eq!(Balances::balance(&W1), START_BALANCE - 2_000);
		assert_eq!(Workers::active_capabilities(&W1), Some(caps()));
		assert_eq!(Workers::active_capabilities(&W2), None);
		System::assert_last_event(
			Event::WorkerRegistered { worker: W1, bond: 2_000, capabilities: caps() }.into(),
		);
	});
}

#[test]
fn register_refuses_bad_profiles_and_low_bonds() {
	run_test(|| {
		assert_noop!(register(W1, MIN_BOND - 1), E::BondTooLow);
		assert_noop!(register(POOR, MIN_BOND), TokenError::FundsUnavailable);
		assert_noop!(
			Workers::register(
				RuntimeOrigin::signed(W1),
				MIN_BOND,
				BoundedVec::new(),
				addrs(),
				caps()
			),
			E::EmptyPeerId
		);
		assert_noop!(
			Workers::register(
				RuntimeOrigin::signed(W1),
				MIN_BOND,
				peer(),
				BoundedVec::new(),
				caps()
			),
			E::NoAddrs
		);
		assert_noop!(
			Workers::register(
				RuntimeOrigin::signed(W1),
				MIN_BOND,
				peer(),
				BoundedVec::truncate_from(vec![BoundedVec::new()]),
				caps()
			),
			E::NoAddrs
		);
		let zero = Capabilities { memory_mib: 0, ..caps() };
		assert_noop!(
			Workers::register(RuntimeOrigin::signed(W1), MIN_BOND, peer(), addrs(), zero),
			E::InvalidCapabilities
		);
		assert_ok!(register(W1, MIN_BOND));
		assert_noop!(register(W1, MIN_BOND), E::AlreadyRegistered);
	});
}

#[test]
fn update_changes_the_profile_of_registered_workers_only() {
	run_test(|| {
		let cuda = Capabilities { device: Device::Cuda, ..caps() };
		assert_noop!(
			Workers::update(RuntimeOrigin::signed(W1), peer(), addrs(), cuda),
			E::NotRegistered
		);
		assert_ok!(register(W1, MIN_BOND));
		assert_ok!(Workers::update(RuntimeOrigin::signed(W1), peer(), addrs(), cuda));
		assert_eq!(Workers::active_capabilities(&W1), Some(cuda));
	});
}

#[test]
fn unbonding_stops_work_at_once_and_frees_the_bond_only_after_the_delay() {
	run_test(|| {
		assert_noop!(Workers::unbond(RuntimeOrigin::signed(W1)), E::NotRegistered);
		assert_ok!(register(W1, MIN_BOND));
		assert_noop!(Workers::withdraw(RuntimeOrigin::signed(W1)), E::NotUnbonding);
		assert_ok!(Workers::unbond(RuntimeOrigin::signed(W1)));
		assert_eq!(Workers::active_capabilities(&W1), None);
		assert_noop!(Workers::unbond(RuntimeOrigin::signed(W1)), E::Unbonding);
		assert_noop!(Workers::bond_extra(RuntimeOrigin::signed(W1), 10), E::Unbonding);
		System::set_block_number(1 + UNBOND_DELAY - 1);
		assert_noop!(Workers::withdraw(RuntimeOrigin::signed(W1)), E::UnbondDelayNotPassed);
		// Still slashable while unbonding.
		assert_eq!(Workers::slash(&W1, 100), 100);
		System::set_block_number(1 + UNBOND_DELAY);
		assert_ok!(Workers::withdraw(RuntimeOrigin::signed(W1)));
		assert_eq!(held(W1), 0);
		assert_eq!(Balances::balance(&W1), START_BALANCE - 100);
		assert!(crate::WorkerInfo::<Test>::get(W1).is_none());
	});
}

#[test]
fn slashing_burns_at_most_the_bond_and_a_slashed_worker_is_inactive_until_it_tops_up() {
	run_test(|| {
		assert_ok!(register(W1, MIN_BOND + 100));
		let issuance = Balances::total_issuance();
		assert_eq!(Workers::slash(&W1, 300), 300);
		assert_eq!(Balances::total_issuance(), issuance - 300);
		assert_eq!(crate::WorkerInfo::<Test>::get(W1).unwrap().bond, MIN_BOND - 200);
		assert_eq!(Workers::active_capabilities(&W1), None);
		assert_noop!(Workers::bond_extra(RuntimeOrigin::signed(W1), 0), E::ZeroAmount);
		assert_ok!(Workers::bond_extra(RuntimeOrigin::signed(W1), 200));
		assert_eq!(Workers::active_capabilities(&W1), Some(caps()));
		// More than the bond: only the bond goes.
		assert_eq!(Workers::slash(&W1, 1_000_000), MIN_BOND);
		assert_eq!(held(W1), 0);
		// Nothing to slash for strangers.
		assert_eq!(Workers::slash(&W2, 5), 0);
	});
}

#[test]
fn try_state_catches_a_bond_that_differs_from_the_hold() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(W1, MIN_BOND));
		crate::WorkerInfo::<Test>::mutate(W1, |w| w.as_mut().unwrap().bond = MIN_BOND + 1);
		assert!(Workers::do_try_state().is_err());
	});
}

fn url(s: &str) -> EndpointOf<Test> {
	s.as_bytes().to_vec().try_into().unwrap()
}

#[test]
fn endpoints_are_published_by_registered_workers_and_checked() {
	run_test(|| {
		let set =
			|who, e: Option<&str>| Workers::set_endpoint(RuntimeOrigin::signed(who), e.map(url));
		assert_noop!(set(W1, Some("http://127.0.0.1:30480")), E::NotRegistered);
		assert_ok!(register(W1, MIN_BOND));
		for bad in [
			"",
			"127.0.0.1:30480",
			"ftp://host",
			"http://",
			"https:///path",
			"http://host/a b",
			"http://host/\u{e9}",
			"http://host/\n",
			"javascript:alert(1)",
		] {
			assert_noop!(set(W1, Some(bad)), E::BadEndpoint);
		}
		assert_ok!(set(W1, Some("http://127.0.0.1:30480")));
		System::assert_last_event(
			crate::Event::EndpointSet { worker: W1, endpoint: Some(url("http://127.0.0.1:30480")) }
				.into(),
		);
		assert_ok!(set(W1, Some("https://worker.example/api")));
		assert_eq!(crate::Endpoints::<Test>::get(W1), Some(url("https://worker.example/api")));
		assert_ok!(set(W1, None));
		assert_eq!(crate::Endpoints::<Test>::get(W1), None);
		// Leaving removes it: no endpoint outlives its worker.
		assert_ok!(set(W1, Some("http://w1")));
		assert_ok!(Workers::unbond(RuntimeOrigin::signed(W1)));
		assert_ok!(set(W1, Some("http://w1:1")));
		System::set_block_number(1 + UNBOND_DELAY);
		assert_ok!(Workers::withdraw(RuntimeOrigin::signed(W1)));
		assert_eq!(crate::Endpoints::<Test>::get(W1), None);
	});
}

#[test]
fn try_state_catches_an_endpoint_without_a_worker() {
	new_test_ext().execute_with(|| {
		crate::Endpoints::<Test>::insert(W1, url("http://w1"));
		assert!(Workers::do_try_state().is_err());
	});
}
