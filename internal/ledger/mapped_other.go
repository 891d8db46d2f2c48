//go:build !linux

package ledger

import bolt "go.etcd.io/bbolt"

const dropEvery = 256

// dropMapped is a no-op where it is not known to be safe: see mapped_linux.go.
func dropMapped(*bolt.Tx) {}
