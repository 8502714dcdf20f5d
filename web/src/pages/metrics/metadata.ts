// A metric's help and type from /api/v1/metadata. Scrapes in the
// OpenMetrics format record metadata under the family's name, without the
// suffixes its series carry (foo_total is family foo; foo_bucket, foo_sum
// and foo_count are family foo of a histogram or summary), so a name with
// no entry of its own is looked up by its family, as Prometheus's own UI
// does.
import type { Metadata } from '../../api/prometheus';

const suffixes: [string, string[]][] = [
  ['_total', ['counter']],
  ['_created', ['counter', 'histogram', 'summary']],
  ['_bucket', ['histogram', 'gaugehistogram']],
  ['_count', ['histogram', 'summary', 'gaugehistogram']],
  ['_sum', ['histogram', 'summary', 'gaugehistogram']],
  ['_gcount', ['gaugehistogram']],
  ['_gsum', ['gaugehistogram']],
  ['_info', ['info']],
];

/** metadataFor: the metadata of `name`, or of its family when the suffix fits the family's type. */
export function metadataFor(name: string, all: Record<string, Metadata[]> | undefined): Metadata | undefined {
  if (!all) return undefined;
  const own = all[name]?.[0];
  if (own) return own;
  for (const [suffix, types] of suffixes) {
    if (!name.endsWith(suffix)) continue;
    const fam = all[name.slice(0, -suffix.length)]?.find((m) => types.includes(m.type));
    if (fam) return fam;
  }
  return undefined;
}
