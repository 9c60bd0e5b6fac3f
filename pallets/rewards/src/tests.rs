use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok, traits::fungible::Inspect, BoundedVec};

fn leaf(role: Role, account: AccountId, item: u64, ppm: u32) -> Leaf<AccountId> {
	Leaf { role, account, item, ppm }
}

fn proof(
	leaves: &[Leaf<AccountId>],
	i: u32,
) -> BoundedVec<[u8; 32], frame_support::traits::ConstU32<20>> {
	BoundedVec::truncate_from(merkle::proof(leaves, i))
}

fn balance(who: AccountId) -> Balance {
	Balances::balance(&who)
}

/// Contributors 10 (60%), 11 (40%); curators 20 (100%).
fn table() -> Vec<Leaf<AccountId>> {
	vec![
		leaf(Role::Contributor, 10, 7, 600_000),
		leaf(Role::Contributor, 11, 8, 400_000),
		leaf(Role::Curator, 20, 2, 1_000_000),
	]
}

fn open(
	job: JobId,
	amount: Balance,
	leaves: &[Leaf<AccountId>],
) -> frame_support::dispatch::DispatchResult {
	<Rewards as RewardPools<_, _>>::open(
		job,
		DATANET,
		&BUILDER,
		amount,
		&WORKER,
		merkle::root(leaves),
		leaves.len() as u32,
	)
}

#[test]
fn only_the_owner_publishes_a_whole_split() {
	new_test_ext().execute_with(|| {
		let split = RewardSplit {
			contributors: 700_000,
			curators: 100_000,
			worker: 150_000,
			owner: 50_000,
		};
		assert_noop!(
			Rewards::set_split(RuntimeOrigin::signed(OUTSIDER), DATANET, split),
			Error::<Test>::NotDatanetOwner
		);
		assert_noop!(
			Rewards::set_split(RuntimeOrigin::signed(OWNER), 9, split),
			Error::<Test>::UnknownDatanet
		);
		let over = RewardSplit { owner: 50_001, ..split };
		assert_noop!(
			Rewards::set_split(RuntimeOrigin::signed(OWNER), DATANET, over),
			Error::<Test>::SplitNotWhole
		);
		let overflow = RewardSplit { contributors: u32::MAX, curators: 1, worker: 0, owner: 0 };
		assert_noop!(
			Rewards::set_split(RuntimeOrigin::signed(OWNER), DATANET, overflow),
			Error::<Test>::SplitNotWhole
		);
		assert_ok!(Rewards::set_split(RuntimeOrigin::signed(OWNER), DATANET, split));
		assert_eq!(Rewards::split_of(DATANET), split);
		assert_eq!(Rewards::split_of(OTHER_DATANET), SplitByDefault::get());
		System::assert_last_event(Event::SplitSet { datanet: DATANET, split }.into());
	});
}

#[test]
fn a_pool_pays_the_split_and_each_leaf_once() {
	new_test_ext().execute_with(|| {
		let t = table();
		let before = (balance(BUILDER), balance(WORKER), balance(OWNER));
		assert_ok!(open(5, 1_000_003, &t));
		// Default split: worker 30%, owner 10%, curators 10%, contributors 50% plus the dust.
		assert_eq!(balance(BUILDER), before.0 - 1_000_003);
		assert_eq!(balance(WORKER), before.1 + 300_000);
		assert_eq!(balance(OWNER), before.2 + 100_000);
		let pool = Pools::<Test>::get(5).unwrap();
		assert_eq!((pool.contributors, pool.curators), (500_003, 100_000));
		assert_ok!(Rewards::do_try_state());

		// Anyone submits; the leaf's account is paid ⌊part × ppm / 10⁶⌋.
		assert_ok!(Rewards::claim(
			RuntimeOrigin::signed(OUTSIDER),
			5,
			0,
			t[0].clone(),
			proof(&t, 0)
		));
		assert_eq!(balance(10), 300_001);
		assert_noop!(
			Rewards::claim(RuntimeOrigin::signed(OUTSIDER), 5, 0, t[0].clone(), proof(&t, 0)),
			Error::<Test>::AlreadyClaimed
		);
		assert_ok!(Rewards::claim(
			RuntimeOrigin::signed(OUTSIDER),
			5,
			2,
			t[2].clone(),
			proof(&t, 2)
		));
		assert_eq!(balance(20), 100_000);
		assert_ok!(Rewards::claim(
			RuntimeOrigin::signed(OUTSIDER),
			5,
			1,
			t[1].clone(),
			proof(&t, 1)
		));
		assert_eq!(balance(11), 200_001);
		assert_ok!(Rewards::do_try_state());
		// One unit of dust is left (for the pot, at expiry), above the existential deposit.
		assert_eq!(balance(Rewards::account()), 10 + 1);
	});
}

#[test]
fn forged_leaves_and_proofs_are_refused_and_pay_nothing() {
	new_test_ext().execute_with(|| {
		let t = table();
		assert_ok!(open(5, 1_000_000, &t));
		let claim = |i: u32, l: Leaf<AccountId>, p| {
			Rewards::claim(RuntimeOrigin::signed(OUTSIDER), 5, i, l, p)
		};
		// A bigger share, another account, another role, another position, a proof for another leaf.
		let mut more = t[1].clone();
		more.ppm = 900_000;
		assert_noop!(claim(1, more, proof(&t, 1)), Error::<Test>::BadProof);
		let mut thief = t[0].clone();
		thief.account = OUTSIDER;
		assert_noop!(claim(0, thief, proof(&t, 0)), Error::<Test>::BadProof);
		let mut curator = t[0].clone();
		curator.role = Role::Curator;
		assert_noop!(claim(0, curator, proof(&t, 0)), Error::<Test>::BadProof);
		assert_noop!(claim(1, t[0].clone(), proof(&t, 0)), Error::<Test>::BadProof);
		assert_noop!(claim(0, t[0].clone(), proof(&t, 1)), Error::<Test>::BadProof);
		assert_noop!(claim(3, t[0].clone(), proof(&t, 0)), Error::<Test>::BadIndex);
		assert_noop!(
			Rewards::claim(RuntimeOrigin::signed(OUTSIDER), 6, 0, t[0].clone(), proof(&t, 0)),
			Error::<Test>::NoSuchPool
		);
		assert_eq!(balance(OUTSIDER), START);
		assert_ok!(Rewards::do_try_state());
	});
}

#[test]
fn a_table_that_promises_too_much_cannot_overdraw_its_part() {
	new_test_ext().execute_with(|| {
		// Contributors' parts per million summing to 1.5 million: the second claim would
		// overdraw and is refused; other pools' funds are never touched.
		let greedy =
			vec![leaf(Role::Contributor, 10, 1, 800_000), leaf(Role::Contributor, 11, 2, 700_000)];
		assert_ok!(open(1, 1_000_000, &table()));
		assert_ok!(open(2, 1_000_000, &greedy));
		assert_ok!(Rewards::claim(
			RuntimeOrigin::signed(OUTSIDER),
			2,
			0,
			greedy[0].clone(),
			proof(&greedy, 0)
		));
		assert_noop!(
			Rewards::claim(
				RuntimeOrigin::signed(OUTSIDER),
				2,
				1,
				greedy[1].clone(),
				proof(&greedy, 1)
			),
			Error::<Test>::PartExhausted
		);
		let bad = vec![leaf(Role::Contributor, 10, 1, PPM + 1)];
		assert_ok!(open(3, 1_000_000, &bad));
		assert_noop!(
			Rewards::claim(RuntimeOrigin::signed(OUTSIDER), 3, 0, bad[0].clone(), proof(&bad, 0)),
			Error::<Test>::BadPpm
		);
		assert_ok!(Rewards::do_try_state());
	});
}

#[test]
fn expired_pools_return_what_is_left_to_the_datanets_next_pool() {
	new_test_ext().execute_with(|| {
		let t = table();
		assert_ok!(open(5, 1_000_000, &t));
		assert_noop!(
			Rewards::sweep(RuntimeOrigin::signed(OUTSIDER), 5),
			Error::<Test>::PoolNotExpired
		);
		assert_ok!(Rewards::claim(
			RuntimeOrigin::signed(OUTSIDER),
			5,
			0,
			t[0].clone(),
			proof(&t, 0)
		));
		System::set_block_number(1 + CLAIM_PERIOD);
		assert_noop!(
			Rewards::claim(RuntimeOrigin::signed(OUTSIDER), 5, 1, t[1].clone(), proof(&t, 1)),
			Error::<Test>::PoolExpired
		);
		assert_ok!(Rewards::sweep(RuntimeOrigin::signed(OUTSIDER), 5));
		// 500,000 - 300,000 to contributor 10, and all of the curators' 100,000: 300,000 left.
		System::assert_last_event(
			Event::PoolSwept { job: 5, datanet: DATANET, returned: 300_000 }.into(),
		);
		assert_eq!(Pots::<Test>::get(DATANET), 300_000);
		assert_eq!(Claimed::<Test>::iter_prefix(5).count(), 0);
		assert_ok!(Rewards::do_try_state());
		// The datanet's next pool takes the pot into its contributors' part.
		assert_ok!(open(6, 1_000_000, &t));
		assert_eq!(Pools::<Test>::get(6).unwrap().contributors, 800_000);
		assert_eq!(Pots::<Test>::get(DATANET), 0);
		assert_noop!(open(6, 10, &t), Error::<Test>::PoolExists);
		assert_ok!(Rewards::do_try_state());
	});
}

#[test]
fn a_payer_short_of_funds_pays_nothing_at_all() {
	new_test_ext().execute_with(|| {
		let before = (balance(BUILDER), balance(WORKER), balance(OWNER));
		// The worker's part would go through; the rest cannot: nothing may be half paid.
		let r = <Rewards as RewardPools<_, _>>::open(
			7,
			DATANET,
			&BUILDER,
			START * 2,
			&WORKER,
			[0; 32],
			0,
		);
		assert!(r.is_err());
		assert_eq!((balance(BUILDER), balance(WORKER), balance(OWNER)), before);
		assert!(Pools::<Test>::get(7).is_none());
		assert_ok!(Rewards::do_try_state());
	});
}

/// A small deterministic generator for the property test.
struct Rng(u64);
impl Rng {
	fn next(&mut self) -> u64 {
		self.0 ^= self.0 << 13;
		self.0 ^= self.0 >> 7;
		self.0 ^= self.0 << 17;
		self.0
	}
	fn below(&mut self, n: u64) -> u64 {
		self.next() % n
	}
}

/// Parts per million for `n` leaves summing to exactly one million.
fn ppms(rng: &mut Rng, n: usize) -> Vec<u32> {
	let raw: Vec<u64> = (0..n).map(|_| 1 + rng.below(1000)).collect();
	let total: u64 = raw.iter().sum();
	let mut out: Vec<u32> = raw.iter().map(|r| (r * PPM as u64 / total) as u32).collect();
	let given: u32 = out.iter().sum();
	out[0] += PPM - given;
	out
}

#[test]
fn claims_and_sweeps_conserve_every_unit_over_random_tables() {
	for seed in 1..=200u64 {
		new_test_ext().execute_with(|| {
			let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
			let (nc, nk) = (1 + rng.below(40) as usize, rng.below(5) as usize);
			let mut t: Vec<Leaf<AccountId>> = ppms(&mut rng, nc)
				.into_iter()
				.enumerate()
				.map(|(i, p)| leaf(Role::Contributor, 100 + i as u128, i as u64, p))
				.collect();
			if nk > 0 {
				t.extend(
					ppms(&mut rng, nk)
						.into_iter()
						.enumerate()
						.map(|(i, p)| leaf(Role::Curator, 500 + i as u128, 1 + i as u64, p)),
				);
			}
			// Payees exist already (a share below the existential deposit cannot open an account).
			for l in &t {
				<Balances as frame_support::traits::fungible::Mutate<_>>::set_balance(
					&l.account, 10,
				);
			}
			let amount = 1 + rng.below(10_000_000) as u128;
			let payer_before = balance(BUILDER);
			assert_ok!(open(seed, amount, &t));
			let mut paid_out = balance(WORKER) - START + balance(OWNER) - START;
			// Claim a random subset, in a random order, some twice.
			let mut order: Vec<u32> = (0..t.len() as u32).collect();
			for i in (1..order.len()).rev() {
				order.swap(i, rng.below(i as u64 + 1) as usize);
			}
			let claims = rng.below(order.len() as u64 + 1) as usize;
			for &i in &order[..claims] {
				let l = &t[i as usize];
				let before = balance(l.account);
				assert_ok!(Rewards::claim(
					RuntimeOrigin::signed(OUTSIDER),
					seed,
					i,
					l.clone(),
					proof(&t, i)
				));
				paid_out += balance(l.account) - before;
				if rng.below(4) == 0 {
					assert_noop!(
						Rewards::claim(
							RuntimeOrigin::signed(OUTSIDER),
							seed,
							i,
							l.clone(),
							proof(&t, i)
						),
						Error::<Test>::AlreadyClaimed
					);
				}
				assert_ok!(Rewards::do_try_state());
			}
			System::set_block_number(1 + CLAIM_PERIOD);
			assert_ok!(Rewards::sweep(RuntimeOrigin::signed(OUTSIDER), seed));
			let returned = Pots::<Test>::get(DATANET);
			// Conservation: what the payer lost is exactly what was paid plus what went back.
			assert_eq!(payer_before - balance(BUILDER), amount, "seed {seed}");
			assert_eq!(paid_out + returned, amount, "seed {seed}");
			// With every leaf claimed, only rounding is left: under one unit per leaf, plus the
			// dust the split's rounding gave the contributors (and the curators' whole part
			// when the table names no curator).
			if claims == t.len() {
				let unclaimable = if nk == 0 { share(amount, 100_000) } else { 0 };
				assert!(returned <= unclaimable + t.len() as u128 + 4, "seed {seed}: {returned}");
			}
			assert_ok!(Rewards::do_try_state());
		});
	}
}

#[test]
fn shares_round_down_without_overflow() {
	assert_eq!(share(1_000_003u128, 600_000), 600_001);
	assert_eq!(share(u128::MAX, PPM), u128::MAX);
	assert_eq!(share(u128::MAX, 500_000), u128::MAX / 2);
	assert_eq!(share(999u128, 1), 0);
	assert_eq!(share(7u128, PPM + 5), 7);
}

#[test]
fn claimable_reports_exactly_what_a_claim_pays_or_why_it_is_refused() {
	new_test_ext().execute_with(|| {
		let t = table();
		let p = |i: u32| merkle::proof(&t, i);
		assert_eq!(Rewards::claimable(1, 0, t[0].clone(), p(0)), Err(ClaimRefusal::NoSuchPool));
		assert_ok!(open(1, 10_000, &t));
		let due = Rewards::claimable(1, 0, t[0].clone(), p(0)).unwrap();
		let before = balance(10);
		assert_ok!(Rewards::claim(
			RuntimeOrigin::signed(OUTSIDER),
			1,
			0,
			t[0].clone(),
			proof(&t, 0)
		));
		assert_eq!(balance(10) - before, due);
		assert!(due > 0);
		assert_eq!(Rewards::claimable(1, 0, t[0].clone(), p(0)), Err(ClaimRefusal::AlreadyClaimed));
		let inflated = leaf(Role::Contributor, 11, 8, 900_000);
		assert_eq!(Rewards::claimable(1, 1, inflated, p(1)), Err(ClaimRefusal::BadProof));
		assert_eq!(Rewards::claimable(1, 7, t[1].clone(), p(1)), Err(ClaimRefusal::BadIndex));
		// Nothing was changed by asking.
		assert_eq!(
			Rewards::claimable(1, 1, t[1].clone(), p(1)),
			Rewards::claimable(1, 1, t[1].clone(), p(1))
		);
		assert!(!Claimed::<Test>::contains_key(1, 1));
	});
}

fn pay_fees(
	job: JobId,
	amount: Balance,
	leaves: &[Leaf<AccountId>],
) -> Result<Period, sp_runtime::DispatchError> {
	<Rewards as RewardPools<_, _>>::pay_fees(
		job,
		DATANET,
		&BUILDER,
		amount,
		&WORKER,
		merkle::root(leaves),
		leaves.len() as u32,
	)
}

#[test]
fn answer_fees_fill_one_pool_per_period_which_pays_claims_once_the_period_is_over() {
	new_test_ext().execute_with(|| {
		let t = table();
		let before = (balance(BUILDER), balance(WORKER), balance(OWNER));
		// Block 1 is in period 0 (FEE_PERIOD 10); two payments for job 5 share its pool.
		assert_eq!(pay_fees(5, 600_000, &t), Ok(0));
		System::set_block_number(9);
		assert_eq!(pay_fees(5, 400_003, &t), Ok(0));
		assert_eq!(balance(BUILDER), before.0 - 1_000_003);
		// Worker 30%, owner 10% paid at once, each payment rounded down on its own.
		assert_eq!(balance(WORKER), before.1 + 180_000 + 120_000);
		assert_eq!(balance(OWNER), before.2 + 60_000 + 40_000);
		let pool = FeePools::<Test>::get(5, 0).unwrap();
		assert_eq!((pool.contributors, pool.curators), (500_003, 100_000));
		assert_eq!(pool.expires_at, FEE_PERIOD + CLAIM_PERIOD);
		assert_ok!(Rewards::do_try_state());

		// While the period lasts, its pool takes fees and pays nothing.
		assert_noop!(
			Rewards::claim_fees(
				RuntimeOrigin::signed(OUTSIDER),
				5,
				0,
				0,
				t[0].clone(),
				proof(&t, 0)
			),
			Error::<Test>::PoolFilling
		);
		assert_eq!(
			Rewards::claimable_fees(5, 0, 0, t[0].clone(), proof(&t, 0).into()),
			Err(ClaimRefusal::PoolFilling)
		);

		// The next period's fees go into a pool of their own.
		System::set_block_number(FEE_PERIOD);
		assert_eq!(pay_fees(5, 1_000, &t), Ok(1));
		assert_eq!(FeePools::<Test>::get(5, 1).unwrap().contributors, 500);
		// The job's own (budget) pool is untouched by fees: there is none.
		assert!(Pools::<Test>::get(5).is_none());

		// Period 0 is over: its leaves are paid from the accumulated parts, each once.
		assert_eq!(
			Rewards::claimable_fees(5, 0, 0, t[0].clone(), proof(&t, 0).into()),
			Ok(300_001)
		);
		assert_ok!(Rewards::claim_fees(
			RuntimeOrigin::signed(OUTSIDER),
			5,
			0,
			0,
			t[0].clone(),
			proof(&t, 0)
		));
		assert_eq!(balance(10), 300_001);
		assert_noop!(
			Rewards::claim_fees(
				RuntimeOrigin::signed(OUTSIDER),
				5,
				0,
				0,
				t[0].clone(),
				proof(&t, 0)
			),
			Error::<Test>::AlreadyClaimed
		);
		// Claiming a leaf of period 0 says nothing of period 1's pool, which still fills.
		assert_noop!(
			Rewards::claim_fees(
				RuntimeOrigin::signed(OUTSIDER),
				5,
				1,
				0,
				t[0].clone(),
				proof(&t, 0)
			),
			Error::<Test>::PoolFilling
		);
		// A forged leaf is refused as in a budget pool.
		let mut thief = t[1].clone();
		thief.account = OUTSIDER;
		assert_noop!(
			Rewards::claim_fees(RuntimeOrigin::signed(OUTSIDER), 5, 0, 1, thief, proof(&t, 1)),
			Error::<Test>::BadProof
		);
		assert_ok!(Rewards::claim_fees(
			RuntimeOrigin::signed(OUTSIDER),
			5,
			0,
			2,
			t[2].clone(),
			proof(&t, 2)
		));
		assert_eq!(balance(20), 100_000);
		System::assert_last_event(
			Event::FeeRewardClaimed {
				job: 5,
				period: 0,
				index: 2,
				account: 20,
				role: Role::Curator,
				amount: 100_000,
			}
			.into(),
		);
		assert_ok!(Rewards::do_try_state());

		// After its claim period, what is left goes to the datanet's pot, and the claim records go.
		assert_noop!(
			Rewards::sweep_fees(RuntimeOrigin::signed(OUTSIDER), 5, 0),
			Error::<Test>::PoolNotExpired
		);
		System::set_block_number(FEE_PERIOD + CLAIM_PERIOD);
		assert_noop!(
			Rewards::claim_fees(
				RuntimeOrigin::signed(OUTSIDER),
				5,
				0,
				1,
				t[1].clone(),
				proof(&t, 1)
			),
			Error::<Test>::PoolExpired
		);
		assert_ok!(Rewards::sweep_fees(RuntimeOrigin::signed(OUTSIDER), 5, 0));
		assert_eq!(Pots::<Test>::get(DATANET), 200_002);
		assert!(FeePools::<Test>::get(5, 0).is_none());
		assert!(!FeeClaimed::<Test>::contains_key((5, 0, 0)));
		assert_ok!(Rewards::do_try_state());
		// The datanet's next budget pool takes the pot in.
		assert_ok!(open(6, 1_000_000, &t));
		assert_eq!(Pools::<Test>::get(6).unwrap().contributors, 500_000 + 200_002);
		assert_ok!(Rewards::do_try_state());
	});
}

#[test]
fn answer_fees_for_an_unknown_datanet_or_from_a_short_payer_pay_nothing() {
	new_test_ext().execute_with(|| {
		let t = table();
		let before = (balance(BUILDER), balance(WORKER), balance(OWNER));
		assert_eq!(
			<Rewards as RewardPools<_, _>>::pay_fees(
				5,
				9,
				&BUILDER,
				1_000,
				&WORKER,
				merkle::root(&t),
				3
			),
			Err(Error::<Test>::UnknownDatanet.into())
		);
		assert!(pay_fees(5, START + 1, &t).is_err());
		assert_eq!((balance(BUILDER), balance(WORKER), balance(OWNER)), before);
		assert!(FeePools::<Test>::get(5, 0).is_none());
		assert_ok!(Rewards::do_try_state());
	});
}
