//! The job runner ([`runner`]) and its parts: getting exactly the dataset a job names
//! ([`dataset`]), turning its items into training records ([`examples`]), and serving live progress
//! as Server-Sent Events ([`progress`]).

pub mod dataset;
pub mod examples;
pub mod progress;
pub mod runner;
