//! # Attribution pallet (in progress)
//!
//! Will hold each trained model's attribution commitment (a Merkle root over the table of
//! per-contribution scores, its total and the table's blob hash), draw a seed its worker could not
//! know when it committed, and let bonded verifiers check the entries that seed picks (issue 18,
//! part 3). What is here now is the part the rest rests on: [`sampling`], which turns a seed into
//! the entries to check, and the number of checks that catches a worker falsifying a given share
//! of entries with a given probability (docs/attribution.md, "Spot checks").

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod sampling;
