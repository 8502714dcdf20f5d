// LogQL for the editor: Grafana's Lezer grammar (@grafana/lezer-logql) for
// highlighting, and completion of label names and values from this
// Vigil's Loki API, of parsers after "|" and of range functions.
import { parser } from '@grafana/lezer-logql';
import type { Completion, CompletionContext, CompletionResult } from '@codemirror/autocomplete';
import { autocompletion } from '@codemirror/autocomplete';
import { LRLanguage, LanguageSupport } from '@codemirror/language';
import type { Extension } from '@codemirror/state';
import { styleTags, tags as t } from '@lezer/highlight';

const language = LRLanguage.define({
  name: 'logql',
  parser: parser.configure({
    props: [
      styleTags({
        'Json Logfmt Unpack Pattern Regexp Unwrap LabelFormat LineFormat Decolorize Drop Keep': t.keyword,
        'By Without On Ignoring GroupLeft GroupRight Bool Offset And Or Unless': t.keyword,
        'Sum Avg Count Max Min Stddev Stdvar Bottomk Topk Sort Sort_Desc': t.function(t.variableName),
        'CountOverTime Rate RateCounter BytesOverTime BytesRate AvgOverTime SumOverTime MinOverTime MaxOverTime StddevOverTime StdvarOverTime QuantileOverTime FirstOverTime LastOverTime AbsentOverTime LabelReplace Vector':
          t.function(t.variableName),
        Identifier: t.labelName,
        String: t.string,
        'Number Duration Bytes Range': t.number,
        'Eq Neq Re Nre PipeExact PipeMatch PipePattern Npa Pipe Gtr Gte Lss Lte Eql Add Sub Mul Div Mod Pow': t.operator,
        LineComment: t.lineComment,
      }),
    ],
  }),
  languageData: { commentTokens: { line: '#' } },
});

export interface LogQLSource {
  labelNames(): Promise<string[]>;
  labelValues(name: string): Promise<string[]>;
}

const parsers: Completion[] = ['json', 'logfmt', 'pattern', 'regexp', 'unpack', 'line_format', 'label_format', 'unwrap', 'drop', 'keep', 'decolorize'].map(
  (label) => ({ label, type: 'keyword' }),
);
const functions: Completion[] = [
  'count_over_time', 'rate', 'bytes_over_time', 'bytes_rate', 'sum_over_time', 'avg_over_time', 'max_over_time', 'min_over_time',
  'quantile_over_time', 'first_over_time', 'last_over_time', 'absent_over_time', 'sum', 'avg', 'count', 'max', 'min', 'topk', 'bottomk',
].map((label) => ({ label, type: 'function', apply: label + '(' }));

/** context finds what the cursor is completing; exported for tests. */
export function completionContext(before: string): { kind: 'labelName' | 'labelValue' | 'pipe' | 'function'; prefix: string; label?: string } | null {
  const open = before.lastIndexOf('{');
  const close = before.lastIndexOf('}');
  if (open > close) {
    const inside = before.slice(open + 1);
    const val = /([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)$/.exec(inside);
    if (val) return { kind: 'labelValue', prefix: val[3], label: val[1] };
    const name = /(?:^|,)\s*([A-Za-z_][A-Za-z0-9_]*)?$/.exec(inside);
    if (name) return { kind: 'labelName', prefix: name[1] ?? '' };
    return null;
  }
  const pipe = /\|\s*([a-z_]*)$/.exec(before);
  if (pipe) return { kind: 'pipe', prefix: pipe[1] };
  const fn = /(?:^|[\s(])([a-z_]+)$/.exec(before);
  if (fn && open < 0) return { kind: 'function', prefix: fn[1] };
  return null;
}

function source(src: LogQLSource) {
  return async (ctx: CompletionContext): Promise<CompletionResult | null> => {
    const before = ctx.state.sliceDoc(0, ctx.pos);
    const c = completionContext(before);
    if (!c) return null;
    if (!ctx.explicit && c.prefix === '' && c.kind !== 'labelName' && c.kind !== 'labelValue' && c.kind !== 'pipe') return null;
    const from = ctx.pos - c.prefix.length;
    switch (c.kind) {
      case 'labelName':
        return { from, options: (await src.labelNames()).map((l) => ({ label: l, type: 'property', apply: l + '="' })), validFor: /^\w*$/ };
      case 'labelValue':
        return {
          from,
          options: (await src.labelValues(c.label!)).map((v) => ({ label: v, type: 'constant', apply: v.replace(/\\/g, '\\\\').replace(/"/g, '\\"') })),
          validFor: /^[^"]*$/,
        };
      case 'pipe':
        return { from, options: parsers, validFor: /^\w*$/ };
      case 'function':
        return { from, options: functions, validFor: /^\w*$/ };
    }
  };
}

export function logql(src: LogQLSource): Extension {
  return [new LanguageSupport(language), autocompletion({ override: [source(src)], icons: false })];
}
