#!/usr/bin/env python3
"""Chat-template fixtures rendered by transformers (`render_jinja_template`, what
`apply_chat_template` calls): templates written for the test that exercise what real templates
rely on (block trimming with and without `-`, `tojson` on tool schemas with its options, `tools`,
`enable_thinking`, namespaces, Python string methods), each with the exact text transformers
renders. Run on demand with the reference venv (scripts/peft-reference sets it up):

    ~/.cache/tributary/pyref/bin/python model-factory/testdata/make_chat_templates.py

The engine must render the same text (model-factory/src/chat.rs, test `templates_render_as_transformers`).
"""

import json
import os

from transformers.utils.chat_template_utils import render_jinja_template

HERE = os.path.dirname(os.path.abspath(__file__))

# Tools with keys in an order that is not sorted, a non-ASCII description and mixed numbers.
TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather",
        "description": "Météo — the current weather for a city, \"quoted\"\tand tabbed",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "the city"},
            "days": {"type": "integer", "minimum": 1, "maximum": 7.5, "default": 2.0}},
            "required": ["city"]}}},
    {"type": "function", "function": {"name": "now", "description": "the time", "parameters": {}}},
]

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "  Weather in Lyon?  "},
    {"role": "assistant", "content": "Sunny."},
    {"role": "user", "content": "And tomorrow?"},
]

# Dashes everywhere, as Qwen's and Hermes' templates are written.
TOOLS_CHATML = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\\n\\n' }}
    {%- endif %}
    {{- "# Tools\\n\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools><|im_end|>\\n" }}
{%- elif messages[0].role == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
{%- endif %}
{%- set ns = namespace(users=0) %}
{%- for message in messages %}
    {%- if message.role != 'system' %}
        {%- if message.role == 'user' %}{% set ns.users = ns.users + 1 %}{% endif %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content.strip() + '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\\n\\n</think>\\n\\n' }}
    {%- endif %}
{%- endif %}
{{- '' if ns.users > 0 else raise_exception('no user turn') }}"""

# No dashes: the layout is what trim_blocks and lstrip_blocks leave of it.
TRIMMED = """{{ bos_token }}
{% for m in messages %}
  {% if m.role == 'user' %}
[U] {{ m.content | trim }}
  {% elif m.role == 'assistant' %}
[A] {{ m.content }}{{ eos_token }}
  {% else %}
[S] {{ m.content | upper }}
  {% endif %}
{% endfor %}
{% if add_generation_prompt %}
[A]{% endif %}"""

# tojson's options, as transformers exposes them.
JSON_OPTIONS = """{% if tools %}{{ tools | tojson(indent=2) }}
{{ tools[0] | tojson(sort_keys=true, ensure_ascii=true) }}
{{ tools[0].function.parameters | tojson(separators=(',', ':')) }}
{{ {'n': 3, 'x': 0.5, 'ok': true, 'none': none, 'list': []} | tojson }}
{% endif %}{% for m in messages %}{{ m.role }}={{ m.content | length }};{% endfor %}"""

# A conversation with a tool call and its answer, as OpenAI's API carries them (the arguments a
# JSON string; the tool turn with its call id and name).
TOOL_TURNS = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Weather in Lyon?"},
    {"role": "assistant", "content": "", "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"city\": \"Lyon\", \"days\": 2}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "sunny, 21 C"},
    {"role": "assistant", "content": "Sunny, 21 C."},
    {"role": "user", "content": "Thanks."},
]

# Assistant calls and tool answers in Hermes' layout (as Qwen2.5's template writes them), and the
# checks templates make on keys that are set only on some turns (`in`, `is defined`).
TOOL_TURNS_HERMES = """{%- for message in messages %}
    {%- if message.role == 'assistant' and 'tool_calls' in message %}
        {{- '<|im_start|>assistant' }}
        {%- if message.content %}{{- '\\n' + message.content }}{%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' + tool_call.name + '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == 'tool' %}
        {%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}{{- '<|im_start|>user' }}{%- endif %}
        {{- '\\n<tool_response id="' + message.tool_call_id + '" name="' + message.name + '">\\n' + message.content + '\\n</tool_response>' }}
        {%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}{{- '<|im_end|>\\n' }}{%- endif %}
    {%- else %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}
        {%- if message.tool_call_id is defined or message.name is defined %}{{- raise_exception('keys that were not set') }}{%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"""

CASES = [
    ("tools_chatml", TOOLS_CHATML, TOOLS, {"enable_thinking": False}),
    ("tools_chatml_thinking", TOOLS_CHATML, TOOLS, {"enable_thinking": True}),
    ("no_tools_chatml", TOOLS_CHATML, None, {}),
    ("trimmed_blocks", TRIMMED, None, {}),
    ("json_options", JSON_OPTIONS, TOOLS, {}),
    ("tool_turns_hermes", TOOL_TURNS_HERMES, TOOLS, {}),
]


def main():
    out = []
    for name, template, tools, extra in CASES:
        messages = TOOL_TURNS if name.startswith("tool_turns") else MESSAGES
        for gen in (True, False):
            rendered, _ = render_jinja_template(
                conversations=[messages], tools=tools, chat_template=template,
                add_generation_prompt=gen, bos_token="<s>", eos_token="</s>", **extra)
            out.append({"name": name, "template": template, "messages": messages, "tools": tools,
                        "variables": extra, "add_generation_prompt": gen, "bos_token": "<s>",
                        "eos_token": "</s>", "expected": rendered[0]})
    path = os.path.join(HERE, "chat", "templates.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
    print(f"{len(out)} renderings in {path}")


if __name__ == "__main__":
    main()
