// The query editor as pages use it: a plain input at once, replaced by
// CodeMirror (PromQL or LogQL) when its chunk has loaded, so the editor's
// ~150 KB never delays a page's first query and graph. When the page
// opens with a query, CodeMirror loads only after the page drew its
// answer (lib/drawn.ts: the graph, the log lines), or its error came, or the input got the focus,
// or after a second at the latest: compiling it on the main thread while
// the answer arrives delayed the graph by 40-90 ms.
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Extension } from '@codemirror/state';
import { firstDrawn, type Drawing } from '../../lib/drawn';
import type { EditorProps } from './Editor';
import type { LogQLSource } from './logql';

export interface QueryEditorProps extends Omit<EditorProps, 'language'> {
  lang: 'promql' | 'logql';
  logqlSource?: LogQLSource;
  /** waitFor: the page's drawing of its answer, before which CodeMirror does not load. */
  waitFor: Drawing;
}

let loaded: { Editor: ComponentType<EditorProps>; promql?: Extension } | null = null;

export function QueryEditor(p: QueryEditorProps) {
  const [mod, setMod] = useState<{ Editor: ComponentType<EditorProps>; language: Extension } | null>(null);
  const [want, setWant] = useState(() => !!loaded || !p.value.trim());
  useEffect(() => {
    if (want) return;
    const t = setTimeout(() => setWant(true), 1000);
    firstDrawn(p.waitFor).then(() => setWant(true));
    return () => clearTimeout(t);
  }, []);
  if (p.error && !want) setWant(true);
  useEffect(() => {
    if (!want) return;
    let live = true;
    (async () => {
      const { Editor } = loaded ?? (await import('./Editor'));
      let language: Extension;
      if (p.lang === 'promql') {
        language = loaded?.promql ?? (await import('./promql')).promql();
        loaded = { Editor, promql: language };
      } else {
        language = (await import('./logql')).logql(p.logqlSource ?? { labelNames: async () => [], labelValues: async () => [] });
        loaded = { Editor, promql: loaded?.promql };
      }
      if (live) setMod({ Editor, language });
    })();
    return () => {
      live = false;
    };
  }, [p.lang, want]);
  if (mod) return <mod.Editor {...p} language={mod.language} />;
  return (
    <div class="editor">
      <input
        class="editor-fallback"
        value={p.value}
        placeholder={p.placeholder}
        aria-label={p.label}
        onFocus={() => setWant(true)}
        onInput={(e) => p.onChange((e.target as HTMLInputElement).value)}
        onKeyDown={(e) => e.key === 'Enter' && p.onRun()}
      />
    </div>
  );
}
