package telemetrydb

// CurrentPartition returns the sequence number of the newest partition, the
// one receiving writes. It grows each time a new partition starts, so a
// caller that keeps per-partition state (such as "this partition already
// holds my dictionary row") can notice the switch.
func (db *DB) CurrentPartition() int64 {
	db.partsMu.RLock()
	defer db.partsMu.RUnlock()
	if len(db.parts) == 0 {
		return -1
	}
	return db.parts[len(db.parts)-1].seq
}

// OldestPartition returns the sequence number of the oldest partition, or
// -1 when there is none. Partitions are dropped oldest first, so a caller
// that remembers the newest partition in which it wrote something knows
// that it is gone once OldestPartition is past it.
func (db *DB) OldestPartition() int64 {
	db.partsMu.RLock()
	defer db.partsMu.RUnlock()
	if len(db.parts) == 0 {
		return -1
	}
	return db.parts[0].seq
}
