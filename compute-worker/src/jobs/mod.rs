//! The job runner ([`runner`]) and its parts: getting exactly the dataset a job names
//! ([`dataset`]) and turning its items into training records ([`examples`]).

pub mod dataset;
pub mod examples;
pub mod runner;
