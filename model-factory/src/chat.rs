//! Chat templates: conversations rendered to the exact text a model was tuned on.
//!
//! A model's own template (the Jinja `chat_template` of its `tokenizer_config.json`, or the GGUF
//! `tokenizer.chat_template`) is rendered with minijinja and Python-compatible string methods, as
//! transformers' `apply_chat_template` does. Models that ship none get their family's format.

use crate::model::Family;
use minijinja::{Environment, ErrorKind};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
	pub role: String,
	pub content: String,
}

impl Message {
	pub fn new(role: &str, content: &str) -> Self {
		Self { role: role.into(), content: content.into() }
	}
}

/// ChatML (Qwen2/2.5/3, SmolLM2).
const CHATML: &str =
	"{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}\
{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
/// Llama 3 headers.
const LLAMA3: &str = "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n\
{{ m.content | trim }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}";
/// Mistral instruct: a system message is prepended to the first user turn.
const MISTRAL: &str = "{{ bos_token }}{% set sys = namespace(text='') %}{% for m in messages %}\
{% if m.role == 'system' %}{% set sys.text = m.content + '\n\n' %}\
{% elif m.role == 'user' %}[INST] {{ sys.text }}{{ m.content }} [/INST]{% set sys.text = '' %}\
{% else %}{{ m.content }}{{ eos_token }}{% endif %}{% endfor %}";
/// GLM-4.
const GLM4: &str =
	"[gMASK]<sop>{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}{% endfor %}\
{% if add_generation_prompt %}<|assistant|>\n{% endif %}";
/// DeepSeek-V2 chat: plain `User:` / `Assistant:` turns after the BOS.
const DEEPSEEK_V2: &str = "{{ bos_token }}{% for m in messages %}{% if m.role == 'system' %}{{ m.content }}\n\n\
{% elif m.role == 'user' %}User: {{ m.content }}\n\n{% else %}Assistant: {{ m.content }}{{ eos_token }}{% endif %}{% endfor %}\
{% if add_generation_prompt %}Assistant:{% endif %}";
/// DeepSeek-V3 and R1: the system text first, then `<｜User｜>` / `<｜Assistant｜>` turns.
const DEEPSEEK_V3: &str = "{{ bos_token }}{% for m in messages %}{% if m.role == 'system' %}{{ m.content }}\
{% elif m.role == 'user' %}<｜User｜>{{ m.content }}{% else %}<｜Assistant｜>{{ m.content }}{{ eos_token }}{% endif %}{% endfor %}\
{% if add_generation_prompt %}<｜Assistant｜>{% endif %}";
/// Base models with no chat tuning (GPT-2, BLOOM): plain labelled turns.
const PLAIN: &str =
	"{% for m in messages %}{{ m.role | capitalize }}: {{ m.content }}\n{% endfor %}\
{% if add_generation_prompt %}Assistant:{% endif %}";

/// A chat template with the special tokens it refers to.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
	pub source: String,
	pub bos_token: String,
	pub eos_token: String,
}

impl ChatTemplate {
	pub fn new(source: impl Into<String>, bos_token: &str, eos_token: &str) -> Self {
		Self { source: source.into(), bos_token: bos_token.into(), eos_token: eos_token.into() }
	}

	/// The family's usual format, for models that ship no template.
	pub fn for_family(f: Family) -> Self {
		let (src, bos, eos) = match f {
			Family::Qwen2 | Family::Qwen3 | Family::Qwen2Moe | Family::Qwen3Moe => {
				(CHATML, "", "<|im_end|>")
			}
			Family::Llama => (LLAMA3, "<|begin_of_text|>", "<|eot_id|>"),
			Family::Mistral => (MISTRAL, "<s>", "</s>"),
			Family::Glm | Family::Glm4 | Family::ChatGlm => (GLM4, "", "<|user|>"),
			Family::DeepseekV2 => (DEEPSEEK_V2, "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
			Family::DeepseekV3 => (DEEPSEEK_V3, "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
			Family::Gpt2 | Family::Bloom => (PLAIN, "", ""),
		};
		Self::new(src, bos, eos)
	}

	/// Renders `messages`; with `add_generation_prompt` the text ends where the assistant's reply
	/// starts.
	pub fn render(
		&self,
		messages: &[Message],
		add_generation_prompt: bool,
	) -> Result<String, String> {
		let mut env = Environment::new();
		env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
		env.add_function("raise_exception", |msg: String| -> Result<String, minijinja::Error> {
			Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
		});
		env.add_template("chat", &self.source).map_err(|e| format!("chat template: {e}"))?;
		let ctx = minijinja::context! {
			messages => messages,
			add_generation_prompt => add_generation_prompt,
			bos_token => &self.bos_token,
			eos_token => &self.eos_token,
		};
		env.get_template("chat")
			.and_then(|t| t.render(ctx))
			.map_err(|e| format!("chat template: {e}"))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn family_templates_render_the_expected_text() {
		let msgs = [
			Message::new("system", "Be brief."),
			Message::new("user", "Hi"),
			Message::new("assistant", "Hello!"),
		];
		let chatml = ChatTemplate::for_family(Family::Qwen2).render(&msgs[1..2], true).unwrap();
		assert_eq!(chatml, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
		let m = ChatTemplate::for_family(Family::Mistral).render(&msgs, false).unwrap();
		assert_eq!(m, "<s>[INST] Be brief.\n\nHi [/INST]Hello!</s>");
		let l = ChatTemplate::for_family(Family::Llama).render(&msgs[1..2], true).unwrap();
		assert_eq!(
			l,
			"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
		);
		let g = ChatTemplate::for_family(Family::Glm4).render(&msgs[1..2], true).unwrap();
		assert_eq!(g, "[gMASK]<sop><|user|>\nHi<|assistant|>\n");
		let d = ChatTemplate::for_family(Family::DeepseekV3).render(&msgs, true).unwrap();
		assert_eq!(
			d,
			"<｜begin▁of▁sentence｜>Be brief.<｜User｜>Hi<｜Assistant｜>Hello!<｜end▁of▁sentence｜><｜Assistant｜>"
		);
		let d = ChatTemplate::for_family(Family::DeepseekV2).render(&msgs[1..2], true).unwrap();
		assert_eq!(d, "<｜begin▁of▁sentence｜>User: Hi\n\nAssistant:");
		let p = ChatTemplate::for_family(Family::Gpt2).render(&msgs[1..], true).unwrap();
		assert_eq!(p, "User: Hi\nAssistant: Hello!\nAssistant:");
	}

	/// Hugging Face templates use Python string methods and `raise_exception`; both work, and a
	/// template error is reported, not panicked on.
	#[test]
	fn hugging_face_style_templates_render() {
		let src = "{% for m in messages %}{% if m.role not in ['user', 'assistant'] %}\
			{{ raise_exception('roles must be user or assistant') }}{% endif %}\
			{{ m.role.upper() }}: {{ m.content.strip() }}\n{% endfor %}";
		let t = ChatTemplate::new(src, "", "");
		assert_eq!(t.render(&[Message::new("user", "  hi  ")], false).unwrap(), "USER: hi\n");
		let e = t.render(&[Message::new("tool", "x")], false).unwrap_err();
		assert!(e.contains("roles must be user or assistant"), "{e}");
		assert!(ChatTemplate::new("{% for %}", "", "").render(&[], false).is_err());
	}
}
