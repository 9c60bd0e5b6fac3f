//! Benchmarks of every call, at their worst case.

use super::*;
use crate::Pallet as Datanets;
use frame_benchmarking::v2::*;
use frame_support::traits::fungible::{Inspect, MutateHold};
use frame_support::traits::Hooks;
use frame_support::{
	traits::{fungible::Mutate, Get},
	BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use sp_runtime::traits::Zero;

const SEED: u32 = 0;

fn funded<T: Config>(name: &'static str, i: u32) -> T::AccountId {
	let who: T::AccountId = account(name, i, SEED);
	// Plenty for deposits and fees, far from overflowing total issuance.
	T::Currency::set_balance(&who, T::Currency::minimum_balance() * 1_000_000_000u32.into());
	who
}

fn bounded<L: Get<u32>>(len: u32, byte: u8) -> BoundedVec<u8, L> {
	alloc::vec![byte; len.min(L::get()) as usize].try_into().expect("within bound")
}

fn text_formats<T: Config>(n: u32) -> FormatsOf<T> {
	Modality::Text
		.known_formats()
		.iter()
		.take(n as usize)
		.map(|f| f.as_bytes().to_vec().try_into().expect("known formats fit MaxFormatLen"))
		.collect::<Vec<_>>()
		.try_into()
		.expect("n <= MaxFormats")
}

/// The block set-up runs in, at least 1: the framework moves block 0 to 1 after set-up, so
/// set-up that depends on block numbers starts there too.
fn setup_block<T: Config>() -> BlockNumberFor<T> {
	if frame_system::Pallet::<T>::block_number() == 0u32.into() {
		frame_system::Pallet::<T>::set_block_number(1u32.into());
	}
	frame_system::Pallet::<T>::block_number()
}

/// The block a submission made now expires in.
fn expiry_due<T: Config>() -> BlockNumberFor<T> {
	setup_block::<T>() + rules::<T>(1).pending_blocks.into()
}

/// Empties the expiry buckets a submission due at `from` may use (whatever earlier runs left).
fn clear_expiry_window<T: Config>(from: BlockNumberFor<T>) {
	for k in 0..EXPIRY_SPILL_BLOCKS {
		PendingExpiries::<T>::remove(from + k.into());
	}
}

/// Fills the expiry buckets of blocks `from .. from + n` with placeholder ids (worst cases of
/// scheduling and unscheduling); `clear_filler` takes them out again.
fn fill_expiry_buckets<T: Config>(from: BlockNumberFor<T>, n: u32) {
	let full: Vec<ContributionId> =
		(0..T::MaxExpiriesPerBlock::get() as u64).map(|i| u64::MAX - i).collect();
	for k in 0..n {
		let bucket: BoundedVec<_, _> = full.clone().try_into().expect("MaxExpiriesPerBlock ids");
		PendingExpiries::<T>::insert(from + k.into(), bucket);
	}
}

fn clear_filler<T: Config>(from: BlockNumberFor<T>, n: u32) {
	for k in 0..n {
		PendingExpiries::<T>::mutate(from + k.into(), |b| b.retain(|id| *id < u64::MAX / 2));
	}
}

fn rules<T: Config>(quorum: u32) -> RulesOf<T> {
	Rules {
		approval_quorum: quorum,
		rejection_quorum: quorum,
		contribution_deposit: 1000u32.into(),
		curator_fee: 1u32.into(),
		..Rules::with_defaults()
	}
}

/// A datanet with `c` curators (quorum 1), its owner and curators.
fn datanet<T: Config>(c: u32) -> (DatanetId, T::AccountId, Vec<T::AccountId>) {
	let owner = funded::<T>("owner", 0);
	let curators: Vec<T::AccountId> = (0..c.max(1)).map(|i| funded::<T>("curator", i)).collect();
	for who in &curators {
		Datanets::<T>::do_bond_curator(who, T::CuratorBond::get()).expect("a funded curator bonds");
	}
	let id = Datanets::<T>::do_create_datanet(
		owner.clone(),
		bounded(T::MaxNameLen::get(), b'n'),
		bounded(T::MaxDescriptionLen::get(), b'd'),
		Modality::Text,
		text_formats::<T>(T::MaxFormats::get()),
		rules::<T>(1),
		curators.clone().try_into().expect("c <= MaxCurators"),
		T::DatanetDeposit::get(),
	)
	.expect("valid datanet");
	// On the global board (no bond needed for that here): decisions update both boards.
	DatanetInfo::<T>::mutate(id, |d| {
		if let Some(d) = d {
			d.board_bond = Some(Zero::zero());
		}
	});
	(id, owner, curators)
}

/// Gives `who` a commitment to `hash` in `datanet` made in the previous block (block 1 is the
/// earliest a reveal can use: set-up moves there from block 0).
fn commit_earlier<T: Config>(who: &T::AccountId, datanet: DatanetId, hash: ContentHash) {
	let made = setup_block::<T>() - 1u32.into();
	Commitments::<T>::mutate(who, |list| {
		list.try_push((commitment_of(datanet, &hash, who), made)).expect("room for one more")
	});
}

/// Commits earlier and submits `hash` (1 KiB of txt) as `who`.
fn submit_committed<T: Config>(who: &T::AccountId, datanet: DatanetId, hash: ContentHash) {
	commit_earlier::<T>(who, datanet, hash);
	Datanets::<T>::submit_contribution(
		RawOrigin::Signed(who.clone()).into(),
		datanet,
		hash,
		1024,
		format::<T>(),
		BoundedVec::new(),
	)
	.expect("submission");
}

/// Schedules a change of `datanet`'s rules to their current values, due now: the call that
/// reads the rules next applies it (the worst case of every such call).
fn due_rules_change<T: Config>(datanet: DatanetId) {
	let rules = DatanetInfo::<T>::get(datanet).expect("datanet").rules;
	ScheduledRules::<T>::insert(datanet, ScheduledChange::of(&rules, 0u32.into()));
}

/// Closes `datanet` and moves to the first block it can be cleared in.
fn close_for_clearing<T: Config>(datanet: DatanetId) {
	let now = setup_block::<T>();
	DatanetInfo::<T>::mutate(datanet, |d| {
		if let Some(d) = d {
			d.status = DatanetStatus::Closed;
		}
	});
	ClosedAt::<T>::insert(datanet, now);
	frame_system::Pallet::<T>::set_block_number(now + T::ClearDelay::get().into());
}

fn format<T: Config>() -> FormatOf<T> {
	b"txt".to_vec().try_into().expect("fits")
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn create_datanet(
		c: Linear<1, { T::MaxCurators::get() }>,
		f: Linear<1, 8>,
	) -> Result<(), BenchmarkError> {
		let owner = funded::<T>("owner", 0);
		let curators: CuratorsOf<T> = (0..c)
			.map(|i| account::<T::AccountId>("curator", i, SEED))
			.collect::<Vec<_>>()
			.try_into()
			.map_err(|_| BenchmarkError::Stop("MaxCurators"))?;
		let formats = text_formats::<T>(f.min(T::MaxFormats::get()));
		let next = NextDatanetId::<T>::get();
		#[extrinsic_call]
		_(
			RawOrigin::Signed(owner),
			bounded(T::MaxNameLen::get(), b'n'),
			bounded(T::MaxDescriptionLen::get(), b'd'),
			Modality::Text,
			formats,
			rules::<T>(1),
			curators,
		);
		assert_eq!(NextDatanetId::<T>::get(), next + 1);
		Ok(())
	}

	#[benchmark]
	/// A due change is applied first, then the new quorums are scheduled.
	fn update_rules() {
		let (id, owner, _) = datanet::<T>(T::MaxCurators::get());
		due_rules_change::<T>(id);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), id, rules::<T>(2));
		assert_eq!(ScheduledRules::<T>::get(id).map(|c| c.approval_quorum), Some(2));
	}

	#[benchmark]
	fn add_curator(c: Linear<1, { T::MaxCurators::get() - 1 }>) {
		let (id, owner, _) = datanet::<T>(c);
		let new: T::AccountId = account("new-curator", 0, SEED);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), id, new.clone());
		assert!(Curators::<T>::get(id).contains(&new));
	}

	#[benchmark]
	fn remove_curator(c: Linear<2, { T::MaxCurators::get() }>) {
		let (id, owner, curators) = datanet::<T>(c);
		let last = curators.last().cloned().expect("c >= 2");
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), id, last.clone());
		assert!(!Curators::<T>::get(id).contains(&last));
	}

	#[benchmark]
	fn close_datanet() {
		let (id, owner, _) = datanet::<T>(1);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), id);
		assert_eq!(DatanetInfo::<T>::get(id).map(|d| d.status), Some(DatanetStatus::Closed));
	}

	#[benchmark]
	fn join_global_board() {
		let (id, owner, _) = datanet::<T>(1);
		DatanetInfo::<T>::mutate(id, |d| {
			if let Some(d) = d {
				d.board_bond = None;
			}
		});
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), id);
		assert!(DatanetInfo::<T>::get(id).and_then(|d| d.board_bond).is_some());
	}

	/// Slashes the owner's deposit and sweeps a funded pot.
	#[benchmark]
	fn force_close_datanet() -> Result<(), BenchmarkError> {
		let (id, _, _) = datanet::<T>(1);
		let pot = Datanets::<T>::curation_pot(id);
		T::Currency::set_balance(&pot, T::Currency::minimum_balance() * 1000u32.into());
		let to: T::AccountId = account("sweeper", 0, SEED);
		let origin =
			<T::ForceOrigin as frame_support::traits::EnsureOrigin<_>>::try_successful_origin()
				.map_err(|_| BenchmarkError::Weightless)?;
		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, id, true, Some(to.clone()));
		assert!(T::Currency::balance(&pot).is_zero());
		assert!(!T::Currency::balance(&to).is_zero());
		Ok(())
	}

	/// `s` full expiry buckets are skipped before one with room; when `t` is 1 the reveal takes
	/// the hash over from a pending contribution committed later, whose expiry bucket is full.
	/// The caller holds `c` commitments, its own the last; the metadata is `m` bytes; `g`: the
	/// datanet is on the global board; `r`: a due rules change is applied.
	#[benchmark]
	fn submit_contribution(
		s: Linear<0, { EXPIRY_SPILL_BLOCKS - 1 }>,
		t: Linear<0, 1>,
		c: Linear<1, { T::MaxCommitments::get() }>,
		m: Linear<0, { T::MaxMetadataLen::get() }>,
		g: Linear<0, 1>,
		r: Linear<0, 1>,
	) {
		let (id, _, _) = datanet::<T>(1);
		if g == 0 {
			DatanetInfo::<T>::mutate(id, |d| {
				if let Some(d) = d {
					d.board_bond = None;
				}
			});
		}
		let who = funded::<T>("contributor", 0);
		// Usage already recorded today: the caps are read, checked and rewritten.
		submit_committed::<T>(&who, id, [1u8; 32]);
		let hash = [2u8; 32];
		let holder = NextContributionId::<T>::get();
		let due = expiry_due::<T>();
		let far = due + EXPIRY_SPILL_BLOCKS.into();
		if t == 1 {
			let squatter = funded::<T>("squatter", 0);
			submit_committed::<T>(&squatter, id, hash);
			let now = frame_system::Pallet::<T>::block_number();
			let mut c = Contributions::<T>::get(holder).expect("the squatter's contribution");
			Datanets::<T>::end_pending(holder, c.expires_at);
			fill_expiry_buckets::<T>(far, 1);
			PendingExpiries::<T>::mutate(far, |b| {
				b.pop();
				b.try_push(holder).expect("room for the holder");
			});
			(c.committed_at, c.expires_at) = (now, far);
			Contributions::<T>::insert(holder, c);
		}
		for n in 1..c {
			let mut other = [3u8; 32];
			other[..4].copy_from_slice(&n.to_le_bytes());
			commit_earlier::<T>(&who, id, other);
		}
		commit_earlier::<T>(&who, id, hash);
		if r == 1 {
			due_rules_change::<T>(id);
		}
		let next = NextContributionId::<T>::get();
		clear_expiry_window::<T>(due);
		fill_expiry_buckets::<T>(due, s);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), id, hash, 1024, format::<T>(), bounded(m, b'm'));
		assert_eq!(NextContributionId::<T>::get(), next + 1);
		assert_eq!(Contributions::<T>::get(next).map(|c| c.expires_at), Some(due + s.into()));
		if t == 1 {
			assert_eq!(
				Contributions::<T>::get(holder).map(|c| c.status),
				Some(ContributionStatus::Superseded { by: next })
			);
			clear_filler::<T>(far, 1);
		}
		clear_filler::<T>(due, s);
	}

	/// The caller's list is full of expired commitments but one (all dropped but that one).
	#[benchmark]
	fn commit_contribution() {
		let who = funded::<T>("contributor", 0);
		let max = T::MaxCommitments::get();
		let list: Vec<(Commitment, BlockNumberFor<T>)> =
			(0..max - 1).map(|n| ([n as u8; 32], 0u32.into())).collect();
		Commitments::<T>::insert(&who, BoundedVec::truncate_from(list));
		let lifetime: BlockNumberFor<T> = T::CommitmentLifetime::get().into();
		frame_system::Pallet::<T>::set_block_number(lifetime + 1u32.into());
		Commitments::<T>::mutate(&who, |l| {
			if let Some(last) = l.last_mut() {
				last.1 = lifetime;
			}
		});
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), [0xEE; 32]);
		assert_eq!(Commitments::<T>::get(&who).len(), 2);
	}

	/// The vote that decides, as the `v`-th vote on the contribution (all agreeing, so the fee is
	/// shared by `v` curators).
	#[benchmark]
	fn vote(v: Linear<1, { T::MaxCurators::get() }>) {
		let (id, _, curators) = datanet::<T>(T::MaxCurators::get());
		let who = funded::<T>("contributor", 0);
		let cid = NextContributionId::<T>::get();
		// Worst case: its expiry bucket is full (the decision takes it out of a full list).
		let due = expiry_due::<T>();
		clear_expiry_window::<T>(due);
		fill_expiry_buckets::<T>(due, 1);
		PendingExpiries::<T>::mutate(due, |b| {
			b.pop();
		});
		submit_committed::<T>(&who, id, [1u8; 32]);
		assert_eq!(Contributions::<T>::get(cid).map(|c| c.expires_at), Some(due));
		// v - 1 approvals already cast; the quorum is v; every share of the fee is paid.
		let fee = T::Currency::minimum_balance() * v.into();
		DatanetInfo::<T>::mutate(id, |d| {
			if let Some(d) = d {
				d.rules.approval_quorum = v;
				d.rules.curator_fee = fee;
			}
		});
		for c in &curators[..v as usize - 1] {
			Votes::<T>::insert(cid, c, Vote::Approve);
		}
		Contributions::<T>::mutate(cid, |c| {
			if let Some(c) = c {
				c.approvals = v - 1;
			}
		});
		// Worst case: the deciding vote, whose MMR append merges 32 peaks, and a paid curator fee.
		let peaks: BoundedVec<MmrHash, MaxPeaks> =
			alloc::vec![[7u8; 32]; 32].try_into().expect("32 <= 64");
		MmrPeaks::<T>::insert(id, peaks);
		DatanetInfo::<T>::mutate(id, |d| {
			if let Some(d) = d {
				d.accepted = (1u64 << 32) - 1;
			}
		});
		T::Currency::set_balance(
			&Datanets::<T>::curation_pot(id),
			T::Currency::minimum_balance() * 1000u32.into(),
		);
		// Both boards full of others ranked below: the contributor is looked for in every entry,
		// goes in first and pushes the last one off.
		for board in [Some(id), None] {
			let others: Vec<BoardEntry<T::AccountId>> = (0..T::MaxLeaderboardLen::get())
				.map(|i| BoardEntry {
					account: account("ranked", i, SEED),
					accepted: 1,
					accepted_bytes: 1,
					first_accepted: Some(u64::MAX - i as u64),
				})
				.collect();
			TopContributors::<T>::insert(board, BoundedVec::truncate_from(others));
		}
		due_rules_change::<T>(id);
		let curator = curators[v as usize - 1].clone();
		#[block]
		{
			Datanets::<T>::vote(RawOrigin::Signed(curator).into(), cid, Vote::Approve)
				.expect("deciding vote");
		}
		assert!(matches!(
			Contributions::<T>::get(cid).map(|c| c.status),
			Some(ContributionStatus::Accepted { .. })
		));
		assert_eq!(
			TopContributors::<T>::get(None::<DatanetId>).first().map(|e| &e.account),
			Some(&who)
		);
		clear_filler::<T>(due, 1);
		// Undo the fabricated history so try_state holds.
		DatanetInfo::<T>::mutate(id, |d| {
			if let Some(d) = d {
				d.accepted = 1;
			}
		});
		MmrPeaks::<T>::insert(id, BoundedVec::truncate_from(alloc::vec![[7u8; 32]]));
		for board in [Some(id), None] {
			let rebuilt = Datanets::<T>::rebuild_board(board);
			TopContributors::<T>::insert(board, BoundedVec::truncate_from(rebuilt));
		}
		AcceptedList::<T>::remove(id, (1u64 << 32) - 1);
		AcceptedList::<T>::insert(id, 0, cid);
		Contributions::<T>::mutate(cid, |c| {
			if let Some(c) = c {
				c.status = ContributionStatus::Accepted { index: 0 };
			}
		});
	}

	#[benchmark]
	fn publish_version() {
		let (id, owner, curators) = datanet::<T>(1);
		let who = funded::<T>("contributor", 0);
		let cid = NextContributionId::<T>::get();
		submit_committed::<T>(&who, id, [1u8; 32]);
		Datanets::<T>::vote(RawOrigin::Signed(curators[0].clone()).into(), cid, Vote::Approve)
			.expect("vote");
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), id);
		assert_eq!(LatestVersion::<T>::get(id), 1);
	}

	#[benchmark]
	fn bond_curator() {
		let who = funded::<T>("curator", 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), T::CuratorBond::get());
		assert!(Datanets::<T>::is_bonded_curator(&who));
	}

	#[benchmark]
	fn unbond_curator() {
		let who = funded::<T>("curator", 0);
		Datanets::<T>::do_bond_curator(&who, T::CuratorBond::get()).expect("bonds");
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(!Datanets::<T>::is_bonded_curator(&who));
	}

	#[benchmark]
	fn withdraw_curator_bond() {
		let who = funded::<T>("curator", 0);
		Datanets::<T>::do_bond_curator(&who, T::CuratorBond::get()).expect("bonds");
		Datanets::<T>::do_unbond_curator(&who).expect("unbonds");
		let later = frame_system::Pallet::<T>::block_number() + T::CuratorUnbondDelay::get().into();
		frame_system::Pallet::<T>::set_block_number(later);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(!CuratorBonds::<T>::contains_key(&who));
	}

	#[benchmark]
	fn slash_curator() -> Result<(), BenchmarkError> {
		let who = funded::<T>("curator", 0);
		Datanets::<T>::do_bond_curator(&who, T::CuratorBond::get()).expect("bonds");
		let origin =
			<T::ForceOrigin as frame_support::traits::EnsureOrigin<_>>::try_successful_origin()
				.map_err(|_| BenchmarkError::Weightless)?;
		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, who.clone(), T::CuratorBond::get());
		assert!(!CuratorBonds::<T>::contains_key(&who));
		Ok(())
	}

	#[benchmark]
	fn fund_curation_pot() {
		let (id, _, _) = datanet::<T>(1);
		let who = funded::<T>("funder", 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), id, T::Currency::minimum_balance() * 10u32.into());
		assert!(!T::Currency::balance(&Datanets::<T>::curation_pot(id)).is_zero());
	}

	/// `n` pending contributions expire in this block: each hash freed, each deposit to the pot.
	#[benchmark]
	fn on_initialize(n: Linear<0, { T::MaxExpiriesPerBlock::get() }>) {
		let (id, _, _) = datanet::<T>(1);
		T::Currency::set_balance(
			&Datanets::<T>::curation_pot(id),
			T::Currency::minimum_balance() * 1000u32.into(),
		);
		let first = NextContributionId::<T>::get();
		let due = expiry_due::<T>();
		clear_expiry_window::<T>(due);
		for i in 0..n {
			let who = funded::<T>("contributor", i);
			let mut hash = [0u8; 32];
			hash[..4].copy_from_slice(&i.to_le_bytes());
			submit_committed::<T>(&who, id, hash);
		}
		assert_eq!(PendingExpiries::<T>::get(due).len() as u32, n);
		#[block]
		{
			Datanets::<T>::on_initialize(due);
		}
		for c in first..first + n as u64 {
			assert_eq!(
				Contributions::<T>::get(c).map(|c| c.status),
				Some(ContributionStatus::Expired)
			);
		}
	}

	/// A rejected contribution with `v` votes (half approving), removed by someone other than
	/// its contributor once its datanet can be cleared.
	#[benchmark]
	fn remove_contribution(v: Linear<0, { 2 * T::MaxCurators::get() }>) {
		let (id, _, _) = datanet::<T>(1);
		let who = funded::<T>("contributor", 0);
		let cid = NextContributionId::<T>::get();
		submit_committed::<T>(&who, id, [3u8; 32]);
		let approvals = v / 2;
		for i in 0..v {
			let cast =
				if i < approvals { Vote::Approve } else { Vote::Reject(RejectReason::Malformed) };
			Votes::<T>::insert(cid, account::<T::AccountId>("voter", i, SEED), cast);
		}
		let due = Contributions::<T>::get(cid).map(|c| c.expires_at).expect("submitted");
		Datanets::<T>::end_pending(cid, due);
		ContributionByHash::<T>::remove(id, [3u8; 32]);
		Contributions::<T>::mutate(cid, |c| {
			if let Some(c) = c {
				(c.approvals, c.rejections) = (approvals, v - approvals);
				c.status = ContributionStatus::Rejected { reason: RejectReason::Malformed };
			}
		});
		close_for_clearing::<T>(id);
		let anyone = funded::<T>("anyone", 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(anyone), cid);
		assert!(Contributions::<T>::get(cid).is_none());
	}

	/// A closed datanet off the global board with `i` accepted items and `k` per-contributor
	/// rows, all cleared in one call (the last step included).
	#[benchmark]
	fn clear_closed_datanet(i: Linear<0, 100>, k: Linear<0, 100>) {
		let (id, _, _) = datanet::<T>(1);
		DatanetInfo::<T>::mutate(id, |d| {
			if let Some(d) = d {
				d.board_bond = None;
				d.accepted = i.into();
			}
		});
		for j in 0..i {
			let who = funded::<T>("contributor", j);
			let record_deposit = T::RecordDepositBase::get();
			T::Currency::hold(&HoldReason::ContributionDeposit.into(), &who, record_deposit)
				.expect("funded");
			let cid = NextContributionId::<T>::get();
			NextContributionId::<T>::put(cid + 1);
			let mut hash = [9u8; 32];
			hash[..4].copy_from_slice(&j.to_le_bytes());
			Contributions::<T>::insert(
				cid,
				Contribution {
					datanet: id,
					contributor: who,
					content_hash: hash,
					bytes: 1024,
					format: format::<T>(),
					metadata: BoundedVec::new(),
					submitted_at: setup_block::<T>(),
					approvals: 0,
					rejections: 0,
					deposit: Zero::zero(),
					status: ContributionStatus::Accepted { index: j.into() },
					record_deposit,
					committed_at: Zero::zero(),
					expires_at: Zero::zero(),
				},
			);
			AcceptedList::<T>::insert(id, u64::from(j), cid);
			ContributionByHash::<T>::insert(id, hash, cid);
		}
		for j in 0..k {
			Stats::<T>::insert(
				id,
				account::<T::AccountId>("row", j, SEED),
				ContributorStats::default(),
			);
		}
		T::Currency::set_balance(
			&Datanets::<T>::curation_pot(id),
			T::Currency::minimum_balance() * 1000u32.into(),
		);
		close_for_clearing::<T>(id);
		let anyone = funded::<T>("anyone", 0);
		#[extrinsic_call]
		// One more than the keys: the drain that finds the end takes a step of its own.
		_(RawOrigin::Signed(anyone), id, i + k + 1);
		assert!(DatanetInfo::<T>::get(id).is_none());
	}

	impl_benchmark_test_suite!(Datanets, crate::mock::new_test_ext(), crate::mock::Test);
}
