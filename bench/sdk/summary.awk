# Prints medians per benchmark and library from `go test -bench` output with
# sub-benchmarks named lib=..., and the ratios the SDK's targets are stated
# in: vigil/otel and vigil/prom (and, for spans, each pipeline over OTel's
# default).
/^Benchmark/ {
	name = $1
	sub(/-[0-9]+$/, "", name)
	n = split(name, parts, "/lib=")
	if (n != 2) next
	bench = parts[1]; sub(/^Benchmark/, "", bench); lib = parts[2]
	key = bench SUBSEP lib
	ns[key, ++cnt[key]] = $3
	for (i = 4; i <= NF; i++) {
		if ($(i+1) == "allocs/op") allocs[key] = $i
	}
	if (!(bench in seen)) { seen[bench] = 1; order[++nb] = bench }
	libs[lib] = 1
}
function median(key,   c, i, j, t, a) {
	c = cnt[key]
	if (c == 0) return ""
	for (i = 1; i <= c; i++) a[i] = ns[key, i] + 0
	for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	if (c % 2) return a[(c + 1) / 2]
	return (a[c / 2] + a[c / 2 + 1]) / 2
}
function cell(b, l,   m) {
	m = median(b SUBSEP l)
	if (m == "") return "—"
	return sprintf("%.3g ns, %s allocs", m, allocs[b SUBSEP l])
}
function ratio(b, x, y,   mx, my) {
	mx = median(b SUBSEP x); my = median(b SUBSEP y)
	if (mx == "" || my == "" || my == 0) return "—"
	return sprintf("%.3fx", mx / my)
}
END {
	print "| benchmark | vigil | otel | prom | vigil/otel | vigil/prom |"
	print "|---|---|---|---|---|---|"
	for (i = 1; i <= nb; i++) {
		b = order[i]
		if (b ~ /^SpanStartEnd/) continue
		printf "| %s | %s | %s | %s | %s | %s |\n", b, cell(b, "vigil"), cell(b, "otel"), cell(b, "prom"), ratio(b, "vigil", "otel"), ratio(b, "vigil", "prom")
	}
	print ""
	print "| span start+end | otel default (100%) | vigil (100%) | vigil 10% | otel 10% | vigil/otel default | vigil 10%/otel default |"
	print "|---|---|---|---|---|---|---|"
	for (i = 1; i <= nb; i++) {
		b = order[i]
		if (b !~ /^SpanStartEnd/) continue
		printf "| %s | %s | %s | %s | %s | %s | %s |\n", b, cell(b, "otel"), cell(b, "vigil"), cell(b, "vigil10"), cell(b, "otel10"), ratio(b, "vigil", "otel"), ratio(b, "vigil10", "otel")
	}
}
