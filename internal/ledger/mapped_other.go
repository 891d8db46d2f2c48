//go:build !linux

package ledger

import bolt "go.etcd.io/bbolt"

const dropEvery = 256

// dropMapped is a no-op where it is not known to be safe: see mapped_linux.go.
func dropMapped(*bolt.Tx) {}

// pageCache does nothing here: see mapped_linux.go. It keeps no descriptor
// of the file open, which on Windows would stop compact's rename.
type pageCache struct{}

func openPageCache(string) pageCache { return pageCache{} }
func (pageCache) evict()             {}
func (pageCache) prefetch()          {}
func (pageCache) close()             {}
