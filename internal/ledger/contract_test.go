package ledger_test

import (
	"path/filepath"
	"testing"

	"github.com/reten/reconcile/internal/ledger"
	"github.com/reten/reconcile/internal/ledger/ledgertest"
)

// The behaviours every Store shares, for the bbolt file and for memory.
func TestStoreContract(t *testing.T) {
	t.Run("DB", func(t *testing.T) {
		ledgertest.Test(t, ledgertest.Stores{New: func(t *testing.T) ledger.Store {
			db, err := ledger.Open(filepath.Join(t.TempDir(), "state", "ledger.db"), ledger.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}})
	})
	t.Run("Memory", func(t *testing.T) {
		ledgertest.Test(t, ledgertest.Stores{New: func(t *testing.T) ledger.Store { return &ledger.Memory{} }})
	})
}
