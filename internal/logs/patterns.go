package logs

import (
	"context"
	"sort"
	"strings"
	"time"
)

// PatternQuery asks for the patterns of a log query's lines in [Start,
// End], counted per Step.
type PatternQuery struct {
	Log        DetectedFieldsQuery // its LineLimit is the sample size
	Step       time.Duration
	MaxResults int // patterns kept, most frequent first (0: all)
}

// Pattern is one line template with its count per step, as Loki's
// /loki/api/v1/patterns answers: <_> stands for the tokens that vary.
type Pattern struct {
	Pattern string
	Level   string     // the detected level of its lines
	Samples [][2]int64 // [Unix seconds of the step, lines]
	total   int64
}

// Patterns groups a sample of the query's newest lines (LineLimit) by
// token template and detected level, and counts each pattern's lines per
// step.
func (s *Store) Patterns(ctx context.Context, q PatternQuery) ([]Pattern, error) {
	lq := q.Log
	res, err := s.Query(ctx, Query{Expr: lq.Log.String(), Start: lq.Start, End: lq.End + 1, Step: time.Second, Limit: min(lq.LineLimit, s.opts.MaxQueryLines)})
	if err != nil {
		return nil, err
	}
	step := int64(q.Step)
	type key struct{ level, pattern string }
	buckets := map[key]map[int64]int64{}
	miners := map[string]*miner{}
	type line struct {
		ts    int64
		level string
		c     *cluster
	}
	var lines []line
	for _, st := range res.Streams {
		level := st.Labels.Get("detected_level")
		m := miners[level]
		if m == nil {
			m = newMiner()
			miners[level] = m
		}
		for _, e := range st.Entries {
			lines = append(lines, line{ts: e.Timestamp, level: level, c: m.add(e.Line)})
		}
	}
	// Count after mining: a cluster's template is final only now.
	for _, l := range lines {
		k := key{l.level, l.c.String()}
		b := buckets[k]
		if b == nil {
			b = map[int64]int64{}
			buckets[k] = b
		}
		t := lq.Start
		if step > 0 {
			t += (l.ts - lq.Start) / step * step
		}
		b[t/1e9]++
	}
	out := make([]Pattern, 0, len(buckets))
	for k, b := range buckets {
		p := Pattern{Pattern: k.pattern, Level: k.level}
		for t, n := range b {
			p.Samples = append(p.Samples, [2]int64{t, n})
			p.total += n
		}
		sort.Slice(p.Samples, func(i, j int) bool { return p.Samples[i][0] < p.Samples[j][0] })
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].total != out[j].total {
			return out[i].total > out[j].total
		}
		if out[i].Level != out[j].Level {
			return out[i].Level < out[j].Level
		}
		return out[i].Pattern < out[j].Pattern
	})
	if q.MaxResults > 0 && len(out) > q.MaxResults {
		out = out[:q.MaxResults]
	}
	return out, nil
}

// The miner groups lines into clusters the way Drain does (He et al.,
// ICWS 2017), simplified: a line is split into words and the separators
// between them (spaces and punctuation such as = : , " { }), so that
// JSON and logfmt lines keep their shape; a word holding a digit is a
// variable (<_>) from the start. A line joins the cluster of the same
// token count whose template shares the most words with it, when at
// least half do, and the words that differ become <_>; otherwise it starts
// a cluster. Clusters per token count are bounded, so a flood of unique
// lines costs bounded memory (the extra lines join the closest cluster).

const (
	wildcard           = "<_>"
	clusterSimilarity  = 0.5
	maxClustersPerSize = 200
	maxPatternTokens   = 256 // the rest of a longer line is one <_>
)

type cluster struct{ tokens []string }

func (c *cluster) String() string { return strings.Join(c.tokens, "") }

type miner struct {
	bySize map[int][]*cluster
}

func newMiner() *miner { return &miner{bySize: map[int][]*cluster{}} }

// add puts line into its cluster and returns the cluster.
func (m *miner) add(line string) *cluster {
	toks := patternTokens(line)
	cands := m.bySize[len(toks)]
	var best *cluster
	bestSim := -1.0
	for _, c := range cands {
		if sim := similarity(c.tokens, toks); sim > bestSim {
			best, bestSim = c, sim
		}
	}
	if best == nil || bestSim < clusterSimilarity && len(cands) < maxClustersPerSize {
		c := &cluster{tokens: toks}
		m.bySize[len(toks)] = append(cands, c)
		return c
	}
	for i, t := range toks {
		if best.tokens[i] != t {
			best.tokens[i] = wildcard
		}
	}
	return best
}

// isPatternSep reports whether c separates the words of a line.
func isPatternSep(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', ';', ':', '=', '"', '\'', '{', '}', '[', ']', '(', ')', '|':
		return true
	}
	return false
}

// patternTokens splits a line into words (a word with a digit already a
// wildcard) and the separator runs between them, in order: the template
// is their concatenation.
func patternTokens(line string) []string {
	var toks []string
	for i := 0; i < len(line); {
		j := i
		sep := isPatternSep(line[i])
		for j < len(line) && isPatternSep(line[j]) == sep {
			j++
		}
		tok := line[i:j]
		if !sep && strings.ContainsAny(tok, "0123456789") {
			tok = wildcard
		}
		if len(toks) == maxPatternTokens-1 {
			toks = append(toks, wildcard)
			break
		}
		toks = append(toks, tok)
		i = j
	}
	return toks
}

// similarity is the share of word positions where a template and a
// line's tokens are equal (a wildcard matches anything); separators of
// lines with the same token count are compared too but not counted.
func similarity(tmpl, toks []string) float64 {
	same, words := 0, 0
	for i, t := range toks {
		if t != "" && isPatternSep(t[0]) {
			if tmpl[i] != t {
				return 0
			}
			continue
		}
		words++
		if tmpl[i] == t || tmpl[i] == wildcard {
			same++
		}
	}
	if words == 0 {
		return 1
	}
	return float64(same) / float64(words)
}
