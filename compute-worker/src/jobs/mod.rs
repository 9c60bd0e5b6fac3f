//! The job runner ([`runner`]: following the chain, claiming, heartbeats, submitting) and its parts:
//! getting exactly the dataset a job names ([`dataset`]), turning its items into training records
//! ([`examples`]), everything fetched and checked before a claim ([`prepare`]), the training itself
//! and its re-run ([`training`]), the payout table its attribution yields ([`payout`]), and serving
//! live progress as Server-Sent Events ([`progress`]); and checking other workers' results
//! ([`verifier`]).

pub mod dataset;
pub mod examples;
pub mod payout;
pub mod prepare;
pub mod progress;
pub mod runner;
pub mod training;
pub mod verifier;
