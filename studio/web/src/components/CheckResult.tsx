// What the curator workers' automatic checks find in a contribution (run by the Studio's server on
// its bytes: hash and size, the datanet's formats, each format's rules), shown beside the preview.
// A failing check names the rejection reason the workers would vote, which the reject button
// then offers first.
import { useEffect, useState } from 'react';

export interface Check {
  passes: boolean | null;
  found?: string;
  code?: string;
  reason?: string;
}

export function CheckResult({ contribution, onResult }: { contribution: number; onResult?: (c: Check) => void }) {
  const [check, setCheck] = useState<Check | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    fetch(`/check/${contribution}`)
      .then(async (r) => {
        const j = await r.json().catch(() => ({}));
        if (!r.ok) throw new Error(j.error ?? `HTTP ${r.status}`);
        return j as Check;
      })
      .then(
        (c) => {
          if (!live) return;
          setCheck(c);
          onResult?.(c);
        },
        (e) => live && setError(e instanceof Error ? e.message : String(e)),
      );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [contribution]);
  if (error) return <p className="hint" data-testid="check-result">Automatic check not available: {error}</p>;
  if (!check) return <p className="hint">Running the automatic checks…</p>;
  return (
    <p data-testid="check-result" className={check.passes === false ? 'error' : check.passes ? 'ok' : 'hint'}>
      {check.passes === true && <>Automatic checks: passes ({check.found}). Duplicates are the workers' to judge.</>}
      {check.passes === false && <>Automatic checks: fails — {check.code}: {check.reason}. The workers would reject it.</>}
      {check.passes === null && <>Automatic checks: cannot judge it ({check.reason}); the workers abstain.</>}
    </p>
  );
}
