// A one-to-few-line query editor on CodeMirror 6. Enter runs the query,
// Shift+Enter adds a line. The language (PromQL, LogQL) comes from the
// page, so each page's chunk carries only its own grammar.
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, insertNewlineAndIndent } from '@codemirror/commands';
import { bracketMatching, HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { lintKeymap, setDiagnostics } from '@codemirror/lint';
import { EditorState, Prec, type Extension } from '@codemirror/state';
import { EditorView, keymap, placeholder as ph } from '@codemirror/view';
import { tags } from '@lezer/highlight';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import { errorOffset, errorPosition } from './errpos';

const highlight = HighlightStyle.define([
  { tag: tags.keyword, color: 'var(--hl-keyword)' },
  { tag: [tags.function(tags.variableName), tags.standard(tags.variableName)], color: 'var(--hl-function)' },
  { tag: [tags.number, tags.unit], color: 'var(--hl-number)' },
  { tag: tags.string, color: 'var(--hl-string)' },
  { tag: [tags.labelName, tags.attributeName], color: 'var(--hl-label)' },
  { tag: tags.operator, color: 'var(--hl-operator)' },
  { tag: tags.comment, color: 'var(--fg-muted)', fontStyle: 'italic' },
  { tag: tags.invalid, color: 'var(--danger)' },
]);

const theme = EditorView.theme({
  '&': { fontSize: '13px', border: '1px solid var(--border)', borderRadius: '6px', background: 'var(--bg-input)' },
  '&.cm-focused': { outline: '2px solid var(--accent)', outlineOffset: '-1px' },
  '.cm-content': { fontFamily: 'var(--mono)', padding: '6px 0', caretColor: 'var(--fg)' },
  '.cm-line': { padding: '0 8px' },
  '.cm-placeholder': { color: 'var(--fg-muted)' },
  '.cm-tooltip': { background: 'var(--bg-raised)', border: '1px solid var(--border)', color: 'var(--fg)' },
  '.cm-tooltip-autocomplete ul li[aria-selected]': { background: 'var(--accent)', color: '#fff' },
  '.cm-diagnostic-error': { borderLeft: '4px solid var(--danger)' },
});

export interface EditorProps {
  value: string;
  onChange: (v: string) => void;
  onRun: () => void;
  language: Extension;
  placeholder?: string;
  label: string;
  /** error: the server's answer to the last run; a parse error's position is marked in the text. */
  error?: string | null;
}

export function Editor(p: EditorProps) {
  const el = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const cb = useRef(p);
  const marked = useRef(false);
  cb.current = p;

  useEffect(() => {
    const run = keymap.of([
      { key: 'Enter', run: () => (cb.current.onRun(), true) },
      { key: 'Shift-Enter', run: insertNewlineAndIndent },
      { key: 'Mod-Enter', run: () => (cb.current.onRun(), true) },
    ]);
    const v = new EditorView({
      parent: el.current!,
      state: EditorState.create({
        doc: p.value,
        extensions: [
          history(),
          closeBrackets(),
          bracketMatching(),
          autocompletion({ icons: false }),
          // Completion's Enter wins over "run" while the list is open.
          Prec.highest(keymap.of(completionKeymap)),
          Prec.high(run),
          keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...lintKeymap]),
          syntaxHighlighting(highlight),
          theme,
          EditorView.lineWrapping,
          ph(p.placeholder ?? ''),
          EditorView.contentAttributes.of({ 'aria-label': p.label }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) cb.current.onChange(u.state.doc.toString());
          }),
          p.language,
        ],
      }),
    });
    view.current = v;
    return () => v.destroy();
  }, [p.language]);

  // Outside changes (history navigation, "add to query"): replace the text.
  // A layout effect, so it runs right after the render it belongs to:
  // Preact runs a pending useEffect only after paint, or when the component
  // renders again, and by then fast typing has moved the document on, so a
  // deferred effect put back an older value, whose onChange rendered again
  // with the newer one, and so on: the two values alternated for ever and
  // the tab hung (typing "demo_re" at full speed did it).
  useLayoutEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== p.value) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: p.value } });
    }
  }, [p.value]);

  // The server's parse error, at its position (PromQL's own linter marks
  // most; LogQL's errors come only from the server).
  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const pos = p.error ? errorPosition(p.error) : null;
    if (!pos && !marked.current) return;
    marked.current = !!pos;
    const text = v.state.doc.toString();
    const from = pos ? errorOffset(text, pos) : 0;
    const to = Math.min(text.length, from + 1);
    v.dispatch(setDiagnostics(v.state, pos ? [{ from: to === from ? Math.max(0, from - 1) : from, to, severity: 'error', message: p.error!, source: 'server' }] : []));
  }, [p.error, p.language]);

  return <div class="editor" ref={el} />;
}
