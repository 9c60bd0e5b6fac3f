// `tributary-worker-falsifier`: `tributary-worker` built with the `falsify-attribution` feature,
// for the end-to-end test that verifiers catch a lying worker. Never part of a normal build.
include!("../main.rs");
