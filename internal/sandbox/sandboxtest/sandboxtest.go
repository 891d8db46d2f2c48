// Package sandboxtest starts sandboxes for tests and benchmarks, as
// net/http/httptest starts servers.
package sandboxtest

import (
	"net/http/httptest"
	"testing"

	"github.com/reten/reconcile/internal/sandbox"
)

// Start serves a fresh sandbox of tenant, with faults f, on a loopback port
// until tb ends, and returns it with its base URL.
func Start(tb testing.TB, tenant *sandbox.Tenant, f sandbox.Faults) (*sandbox.Server, string) {
	tb.Helper()
	srv := sandbox.New(tenant)
	srv.SetFaults(f)
	hs := httptest.NewServer(srv)
	tb.Cleanup(hs.Close)
	return srv, hs.URL
}
