# Paired ratios for interleaved runs (run.sh with ROUNDS > 1 and COUNT=1):
# the i-th result of a library for a benchmark comes from the same round as
# the i-th result of its peer, seconds apart, so their ratio is not skewed
# by the load changing between the two. Prints, for each benchmark and
# library, the minimum, median and maximum of the per-round ratios of
# cpu-ns/op (and ns/op) to OpenTelemetry (lib=otel) and client_golang
# (lib=prom).
/^Benchmark/ {
	name = $1
	sub(/-[0-9]+$/, "", name)
	if (split(name, parts, "/lib=") != 2) next
	bench = parts[1]; sub(/^Benchmark/, "", bench); lib = parts[2]
	key = bench SUBSEP lib
	if (!(key in n)) { order[++nk] = key }
	r = ++n[key]
	for (i = 3; i < NF; i++) {
		if ($(i + 1) == "cpu-ns/op") cpu[key, r] = $i
		if ($(i + 1) == "ns/op") wall[key, r] = $i
	}
}
function stats(arr, c,   i, j, t) {
	for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
	med = (c % 2) ? arr[(c + 1) / 2] : (arr[c / 2] + arr[c / 2 + 1]) / 2
	return sprintf("%.3fx | %.3fx | %.3fx", arr[1], med, arr[c])
}
function pairs(key, peer, which,   b, pk, c, i, a) {
	split(key, b, SUBSEP); pk = b[1] SUBSEP peer
	if (!(pk in n) || b[2] == peer) return ""
	c = 0
	for (i = 1; i <= n[key] && i <= n[pk]; i++) {
		if (which == "cpu" && ((key, i) in cpu) && cpu[pk, i] > 0) a[++c] = cpu[key, i] / cpu[pk, i]
		if (which == "ns" && ((key, i) in wall) && wall[pk, i] > 0) a[++c] = wall[key, i] / wall[pk, i]
	}
	if (c == 0) return ""
	return c " | " stats(a, c)
}
END {
	print "| benchmark | lib | vs | measure | rounds | min | median | max |"
	print "|---|---|---|---|---|---|---|---|"
	for (k = 1; k <= nk; k++) {
		key = order[k]; split(key, b, SUBSEP)
		if (b[2] !~ /^vigil/) continue
		for (p = 1; p <= 2; p++) {
			peer = p == 1 ? "otel" : "prom"
			for (w = 1; w <= 2; w++) {
				which = w == 1 ? "cpu" : "ns"
				s = pairs(key, peer, which)
				if (s != "") printf "| %s | %s | %s | %s | %s |\n", b[1], b[2], peer, which == "cpu" ? "cpu-ns/op" : "ns/op", s
			}
		}
	}
}
