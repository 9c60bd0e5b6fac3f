// A contribution's content for a curator: text shown as text (never as HTML), images and audio
// through the browser's own elements. The bytes come from a data peer through the Studio's
// /content, verified against the chain's BLAKE3 hash on the way.
import { useEffect, useState } from 'react';

const TEXT = ['txt', 'md', 'jsonl', 'json', 'csv'];
const IMAGE = ['png', 'jpeg', 'webp', 'gif', 'bmp'];
const AUDIO = ['wav', 'flac', 'mp3', 'ogg', 'opus', 'm4a'];
/** Shown of a text; the rest is cut. */
const TEXT_CHARS = 4000;

export function Preview({ hash, size, format }: { hash: string; size: bigint; format: string }) {
  const url = `/content/${hash}?size=${size}&format=${format}`;
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!TEXT.includes(format)) return;
    let live = true;
    fetch(url)
      .then(async (r) => {
        if (!r.ok) throw new Error((await r.json().catch(() => ({}))).error ?? `HTTP ${r.status}`);
        return r.text();
      })
      .then((t) => live && setText(t), (e) => live && setError(e instanceof Error ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [url, format]);
  if (error) return <p className="hint" data-testid="preview-error">No preview: {error}</p>;
  if (TEXT.includes(format)) {
    if (text == null) return <p className="hint">Fetching the content from a data peer…</p>;
    return (
      <pre className="preview" data-testid="preview-text">
        {text.length > TEXT_CHARS ? text.slice(0, TEXT_CHARS) + `\n… (${text.length - TEXT_CHARS} more characters)` : text}
      </pre>
    );
  }
  if (IMAGE.includes(format)) return <img className="preview" src={url} alt="The contributed image" onError={() => setError('the image could not be fetched')} />;
  if (AUDIO.includes(format)) return <audio className="preview" controls preload="none" src={url} aria-label="The contributed recording" />;
  return <p className="hint">No preview for .{format}.</p>;
}
