# Summarizes `go test -bench` output whose sub-benchmarks are named
# lib=...: the median of each metric per benchmark and library, and the
# ratios to OpenTelemetry (lib=otel; for spans also lib=otel-otlp, the SDK
# with its OTLP exporter) and client_golang (lib=prom) of the same
# benchmark. ns/op is wall-clock; cpu-ns/op is CPU time per operation, the
# steadier figure on a shared machine.
/^Benchmark/ {
	name = $1
	sub(/-[0-9]+$/, "", name)
	if (split(name, parts, "/lib=") != 2) next
	bench = parts[1]; sub(/^Benchmark/, "", bench); lib = parts[2]
	key = bench SUBSEP lib
	if (!(key in nrun)) { order[++nk] = key }
	r = ++nrun[key]
	for (i = 3; i < NF; i++) {
		unit = $(i + 1)
		if (unit == "ns/op" || unit == "cpu-ns/op" || unit == "allocs/op" || unit == "B/op") val[key, unit, r] = $i
	}
}
function median(key, unit,   c, i, j, t, a, n) {
	c = nrun[key]; n = 0
	for (i = 1; i <= c; i++) if ((key, unit, i) in val) a[++n] = val[key, unit, i] + 0
	if (n == 0) return -1
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	if (n % 2) return a[(n + 1) / 2]
	return (a[n / 2] + a[n / 2 + 1]) / 2
}
function fmt(v) { return v < 0 ? "—" : sprintf("%.3g", v) }
function ratio(key, peer, unit,   b, m, p) {
	split(key, b, SUBSEP)
	if (!((b[1] SUBSEP peer) in nrun) || b[2] == peer) return "—"
	m = median(key, unit); p = median(b[1] SUBSEP peer, unit)
	if (m < 0 || p <= 0) return "—"
	return sprintf("%.3fx", m / p)
}
END {
	print "| benchmark | lib | ns/op | cpu-ns/op | allocs/op | B/op | ns vs otel | cpu vs otel | ns vs otel-otlp | cpu vs otel-otlp | ns vs prom | cpu vs prom |"
	print "|---|---|---|---|---|---|---|---|---|---|---|---|"
	for (k = 1; k <= nk; k++) {
		key = order[k]; split(key, b, SUBSEP)
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", b[1], b[2],
			fmt(median(key, "ns/op")), fmt(median(key, "cpu-ns/op")), fmt(median(key, "allocs/op")), fmt(median(key, "B/op")),
			ratio(key, "otel", "ns/op"), ratio(key, "otel", "cpu-ns/op"),
			ratio(key, "otel-otlp", "ns/op"), ratio(key, "otel-otlp", "cpu-ns/op"),
			ratio(key, "prom", "ns/op"), ratio(key, "prom", "cpu-ns/op")
	}
}
