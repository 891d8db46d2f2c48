package ledger

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkBeginFinish measures ledger throughput as the submitter uses it:
// one Begin and one Finish per row, each durable (fsync) before it returns, at
// the submitter's concurrency. rows/s is the figure to read; "batch" is what
// Open uses (bbolt's DB.Batch, 2 ms), "solo" commits each write alone.
//
//	go test -run '^$' -bench BeginFinish -benchtime 2000x ./internal/ledger/
func BenchmarkBeginFinish(b *testing.B) {
	modes := []struct {
		name string
		solo bool
	}{{"batch", false}, {"solo", true}}
	for _, m := range modes {
		for _, workers := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("%s/workers=%d", m.name, workers), func(b *testing.B) {
				db, err := Open(filepath.Join(b.TempDir(), "ledger.db"), Options{solo: m.solo})
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				ctx := context.Background()
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for w := 0; w < workers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1) - 1
							if i >= int64(b.N) {
								return
							}
							act := fmt.Sprintf("act-%08d", i)
							tk, err := db.Begin(ctx, Attempt{Activity: act, Hash: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Run: "bench", File: "bench.csv", Row: int(i) + 2})
							if err == nil {
								err = db.Finish(ctx, tk, Outcome{Class: "ok", Status: 201, ResultID: "res-" + act})
							}
							if err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

// BenchmarkBeginFinishAll measures the ledger as the submitter uses it since
// it records intents ahead: batches of rows begun in one BeginAll and
// finished in one FinishAll, a batch begun while the previous one is being
// finished.
//
//	go test -run '^$' -bench BeginFinishAll -benchtime 20000x ./internal/ledger/
func BenchmarkBeginFinishAll(b *testing.B) {
	for _, batch := range []int{8, 64, 256, 512} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			db, err := Open(filepath.Join(b.TempDir(), "ledger.db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			begun := make(chan []Ticket, 1)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ts := range begun {
					fs := make([]Finished, len(ts))
					for i, t := range ts {
						fs[i] = Finished{Ticket: t, Outcome: Outcome{Class: "ok", Status: 201, ResultID: "res-" + t.Activity}}
					}
					if err := db.FinishAll(ctx, fs); err != nil {
						b.Error(err)
					}
				}
			}()
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				as := make([]Attempt, 0, batch)
				for j := i; j < i+batch && j < b.N; j++ {
					as = append(as, Attempt{Activity: fmt.Sprintf("act-%08d", j), Hash: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Run: "bench", File: "bench.csv", Row: j + 2})
				}
				ts, err := db.BeginAll(ctx, as)
				if err != nil {
					b.Fatal(err)
				}
				begun <- ts
			}
			close(begun)
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
