package sandbox_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/sandbox/sandboxtest"
)

// BenchmarkServeSubmit is the sandbox's own cost of one accepted POST, with
// no network: what it adds to a load test's figures.
func BenchmarkServeSubmit(b *testing.B) {
	srv := sandbox.New(sandbox.SyntheticTenant(1000))
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)%1000 + 1
			body := fmt.Sprintf(`{"provider_activity_id":"SYN-%07d","commerce_external_id":"SYNC-%05d","occurred_at":"2026-04-11T10:30:00.000Z","status":"EFFECTIVE","hard_override":true,"task_result":{"result":"SALE_COMPLETED"}}`, i, i%1000)
			serveSubmit(b, srv, body)
		}
	})
}

// BenchmarkSubmitOverHTTP is the client and the sandbox together over
// loopback, the path a load test takes.
func BenchmarkSubmitOverHTTP(b *testing.B) { benchmarkOverHTTP(b, 0, 1) }

// BenchmarkSubmitWithLatency shows that requests wait out the latency side by
// side: with 16 requests in flight per CPU and 20 ms each, ns/op should be
// near 20 ms / (16 * GOMAXPROCS), not 20 ms.
func BenchmarkSubmitWithLatency(b *testing.B) { benchmarkOverHTTP(b, 20*time.Millisecond, 16) }

func benchmarkOverHTTP(b *testing.B, latency time.Duration, parallelism int) {
	_, url := sandboxtest.Start(b, sandbox.SyntheticTenant(1000), sandbox.Faults{Latency: latency})
	b.SetParallelism(parallelism)
	c, _ := api.NewClient(url, "rtn_sk_demo")
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)%1000 + 1
			_, err := c.SubmitResult(context.Background(), &api.SubmitRequest{
				ProviderActivityID: fmt.Sprintf("SYN-%07d", i), CommerceExternalID: fmt.Sprintf("SYNC-%05d", i%1000),
				OccurredAt: "2026-04-11T10:30:00.000Z", Status: api.StatusEffective, HardOverride: true,
				TaskResult: api.TaskResult{Result: "SALE_COMPLETED"},
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMemory20k reports how much the heap grows for 20,000 accepted
// POSTs (results, counters, request log): heap-MB per 20,000.
func BenchmarkMemory20k(b *testing.B) {
	const n = 20000
	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = fmt.Sprintf(`{"provider_activity_id":"SYN-%07d","commerce_external_id":"SYNC-%05d","occurred_at":"2026-04-11T10:30:00.000Z","status":"EFFECTIVE","task_result":{"result":"SALE_COMPLETED","comment":"Pedido de 12 cajas"}}`, i+1, (i+1)%1000)
	}
	var grown float64
	for range b.N {
		srv := sandbox.New(sandbox.SyntheticTenant(n))
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		for _, body := range bodies {
			serveSubmit(b, srv, body)
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		grown += float64(m1.HeapAlloc) - float64(m0.HeapAlloc)
		runtime.KeepAlive(srv)
	}
	b.ReportMetric(grown/float64(b.N)/1e6, "heap-MB")
}

// serveSubmit hands srv one submission in process, failing b unless it is stored.
func serveSubmit(b *testing.B, srv *sandbox.Server, body string) {
	b.Helper()
	r := httptest.NewRequest(http.MethodPost, api.PathSubmit, strings.NewReader(body))
	r.Header.Set("x-api-key", "rtn_sk_demo")
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	if w.Code != http.StatusCreated {
		b.Fatalf("got %d: %s", w.Code, w.Body)
	}
}
