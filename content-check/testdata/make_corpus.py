#!/usr/bin/env python3
"""Regenerates the committed test corpus (good files and hostile files). Run on demand, not in CI:

    python3 -m venv /tmp/v && /tmp/v/bin/pip install pillow soundfile numpy
    /tmp/v/bin/python content-check/testdata/make_corpus.py

Each hostile file's name says what it is; tests/corpus.rs expects each to be refused with a named reason.
"""
import io, json, math, os, struct, zipfile, zlib

import numpy as np
import soundfile as sf
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
GOOD = os.path.join(HERE, "good")
BAD = os.path.join(HERE, "hostile")


def put(d, name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def image(fmt, **kw):
    w, h = 64, 48
    img = Image.new("RGB", (w, h))
    img.putdata([((x * 4) % 256, (y * 5) % 256, (x * y) % 256) for y in range(h) for x in range(w)])
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def tone(fmt, subtype=None, seconds=0.5, rate=16000):
    t = np.arange(int(seconds * rate)) / rate
    x = (0.3 * np.sin(2 * math.pi * 440 * t)).astype(np.float32)
    b = io.BytesIO()
    sf.write(b, x, rate, format=fmt, subtype=subtype)
    return b.getvalue()


def docx(body_xml):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("word/document.xml", body_xml)
    return b.getvalue()


def doc_xml(paragraphs):
    ps = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    return ('<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            f'wordprocessingml/2006/main"><w:body>{ps}</w:body></w:document>')


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def main():
    os.makedirs(GOOD, exist_ok=True)
    os.makedirs(BAD, exist_ok=True)

    # ---- good
    put(GOOD, "river.txt", b"Rivers carry sediment from mountains to the sea, shaping valleys and deltas over "
        b"thousands of years. Tributaries join larger rivers and add their water and load.\n")
    put(GOOD, "notes.md", "# Field notes\n\nThe *delta* grew by 3 m this year; caf\u00e9 owners noticed.\n".encode())
    rows = [
        {"prompt": "What is a tributary?", "response": "A stream that flows into a larger river."},
        {"prompt": "Name a delta.", "response": "The Nile delta in Egypt."},
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]},
        {"text": "Plain pretraining text is also allowed in instruction datanets."},
    ]
    put(GOOD, "pairs.jsonl", "".join(json.dumps(r) + "\n" for r in rows).encode())
    put(GOOD, "report.docx", docx(doc_xml(["A short report on river sediment.", "It has two paragraphs."])))
    put(GOOD, "gradient.png", image("PNG"))
    put(GOOD, "gradient.jpeg", image("JPEG", quality=90))
    put(GOOD, "gradient.webp", image("WEBP", lossless=True))
    put(GOOD, "tone.wav", tone("WAV", "PCM_16"))
    put(GOOD, "tone.flac", tone("FLAC", "PCM_16"))
    put(GOOD, "tone.mp3", tone("MP3", "MPEG_LAYER_III", rate=22050))

    # ---- hostile
    put(BAD, "invalid-utf8.txt", b"Valid start, then \xff\xfe\xc3\x28 broken bytes in the middle of a sentence.\n")
    put(BAD, "schema-violation.jsonl", b'{"prompt": "Only a prompt, no response"}\n')
    put(BAD, "not-json.jsonl", b'{"prompt": "a", "response": "b"}\n{this is not json}\n')
    png = image("PNG")
    put(BAD, "truncated.png", png[: len(png) // 2])
    jpeg = image("JPEG")
    put(BAD, "truncated.jpeg", jpeg[: len(jpeg) // 3])
    # A JPEG whose frame header claims 65500 x 65500 pixels (4.3 gigapixels): a decompression bomb.
    sof = jpeg.find(b"\xff\xc0")
    bomb = bytearray(jpeg)
    bomb[sof + 5:sof + 9] = struct.pack(">HH", 65500, 65500)
    put(BAD, "bomb.jpeg", bytes(bomb))
    # A PNG of 16384 x 16384 grey pixels whose zlib stream of zeros is small: 268 MB once inflated.
    raw = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * 16384
    idat = b"".join(raw.compress(row) for _ in range(16384)) + raw.flush()
    ihdr = struct.pack(">IIBBBBB", 16384, 16384, 8, 0, 0, 0, 0)
    put(BAD, "bomb.png", b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b""))
    put(BAD, "png-named-jpeg.jpeg", png)
    # A docx whose document.xml inflates to ~100 MB from a few hundred KB: a zip bomb.
    big = doc_xml(["a" * 1000] * 100_000)
    put(BAD, "zip-bomb.docx", docx(big))
    put(BAD, "not-a-zip.docx", b"PK\x03\x04 this is not really a zip archive at all")
    # A WAV header claiming 65535 channels at 4 GHz with a 4 GiB data chunk, followed by a few bytes.
    fmt = struct.pack("<HHIIHH", 1, 65535, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFF, 16)
    wav = (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
           + b"data" + struct.pack("<I", 0xFFFFFFFF) + b"\x00" * 64)
    put(BAD, "absurd-header.wav", wav)
    flac = tone("FLAC", "PCM_16")
    put(BAD, "truncated.flac", flac[:60])
    put(BAD, "noise.mp3", bytes((i * 7919) % 251 for i in range(4000)))


if __name__ == "__main__":
    main()
