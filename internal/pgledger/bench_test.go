package pgledger

import (
	"fmt"
	"sync"
	"testing"

	"github.com/reten/reconcile/internal/ledger"
)

// BenchmarkBeginFinishAll measures the shared ledger as the submitter uses
// it: intents in batches of 512 (one BeginAll), then their outcomes (one
// FinishAll), by 1 or 2 workers. "apart" gives the workers different
// activities; "same" gives both the same ones, so that one of them is
// refused each row (the work sharing of two workers on one file). rows/s
// counts rows decided, recorded or refused.
//
//	RECONCILE_TEST_POSTGRES=... go test -run '^$' -bench BeginFinishAll -benchtime 20000x ./internal/pgledger/
func BenchmarkBeginFinishAll(b *testing.B) {
	const batch = 512
	for _, c := range []struct {
		name    string
		workers int
		same    bool
	}{{"workers=1", 1, false}, {"workers=2/apart", 2, false}, {"workers=2/same", 2, true}} {
		b.Run(c.name, func(b *testing.B) {
			url := testURL(b)
			var stores []*Store
			for range c.workers {
				s, err := Open(ctx, url, Options{Run: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				stores = append(stores, s)
			}
			b.ResetTimer()
			var wg sync.WaitGroup
			for w, s := range stores {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for start := 0; start < b.N; start += batch {
						var as []ledger.Attempt
						for i := start; i < min(start+batch, b.N); i++ {
							act := fmt.Sprintf("act-%d-%08d", w, i)
							if c.same {
								act = fmt.Sprintf("act-%08d", i)
							}
							as = append(as, ledger.Attempt{Activity: act, Hash: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Run: "bench", File: "bench.csv", Row: i + 2})
						}
						ts, err := s.BeginAll(ctx, as)
						if err != nil {
							b.Error(err)
							return
						}
						var fs []ledger.Finished
						for _, tk := range ts {
							if tk.Refused == "" {
								fs = append(fs, ledger.Finished{Ticket: tk, Outcome: ledger.Outcome{Class: "ok", Status: 201, ResultID: "res"}})
							}
						}
						if err := s.FinishAll(ctx, fs); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			rows := b.N * c.workers
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
