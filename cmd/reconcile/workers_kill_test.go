package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/pgledger/pgtest"
	"github.com/reten/reconcile/internal/sandbox"
)

// SIGKILL one of two workers at a random POST, ten times: after the survivor
// and a rerun, every valid activity is stored exactly once.
func TestRunWorkerKilled(t *testing.T) {
	pgtest.Base(t)
	const rounds, n = 10, 500
	killed := 0
	t.Cleanup(func() {
		// A victim that had finished before its POST came was not killed.
		if killed < rounds/2 {
			t.Errorf("the victim was killed in %d rounds of %d", killed, rounds)
		}
	})
	for round := range rounds {
		t.Run(fmt.Sprintf("round=%d", round+1), func(t *testing.T) {
			// The sandbox behind a door that kills the victim at the k-th
			// POST, before or after the sandbox handles it.
			killAt := 1 + rand.Int64N(int64(n-n/50))
			afterHandled := rand.IntN(2) == 1
			var posts atomic.Int64
			var victim atomic.Pointer[worker]
			var killOnce sync.Once
			var killedAt atomic.Int64 // the POSTs the sandbox had seen then
			kill := func() {
				v := victim.Load()
				if v == nil {
					return // not started yet: the next POST will do
				}
				killOnce.Do(func() {
					killedAt.Store(posts.Load())
					v.cmd.Process.Kill()
				})
			}
			door := func(srv *sandbox.Server) http.Handler {
				return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodPost && r.URL.Path == api.PathSubmit {
						k := posts.Add(1)
						if k >= killAt && !afterHandled {
							kill()
						}
						defer func() {
							if k >= killAt && afterHandled {
								kill()
							}
						}()
					}
					srv.ServeHTTP(rw, r)
				})
			}
			w := newWorkersRun(t, n, sandbox.Faults{FailRate: 0.05, Latency: 2 * time.Millisecond, Seed: int64(round)}, door)
			valid := n - len(w.invalid)

			root := t.TempDir()
			a := w.start(t, filepath.Join(root, "victim"))
			victim.Store(a)
			b := w.start(t, filepath.Join(root, "survivor"))
			codeB := b.wait()
			// The POST may not come: the survivor may have taken the rows
			// first. The victim, sending or done, is then killed now.
			kill()
			a.wait()
			if a.code == -1 {
				killed++
			}
			if codeB != exitRowsNotOK {
				t.Fatalf("survivor: exit %d\n%s", codeB, b.output())
			}
			t.Logf("victim killed at POST %d (aimed at %d, after the sandbox handled it: %v; exit %d); %d POSTs by both, %d stored of %d",
				killedAt.Load(), killAt, afterHandled, a.code, posts.Load(), w.srv.Stats().Stored, valid)

			// The rerun sends what neither sent (the victim's claims are
			// free: its session died with it).
			re := w.start(t, filepath.Join(root, "rerun"))
			if code := re.wait(); code != exitRowsNotOK {
				t.Fatalf("rerun: exit %d\n%s", code, re.output())
			}
			st := w.srv.Stats()
			lost, twice := 0, 0
			for _, act := range st.Activities {
				if act.Stored > 1 {
					twice++
				}
			}
			for _, r := range readRunReportRows(t, filepath.Join(root, "rerun")) {
				id := r["activity_id"]
				if w.invalid[id] {
					continue
				}
				if s := st.Activities[id].Stored; s == 0 {
					lost++
				}
				ok := r["outcome"] == string(outcome.ClassOK) ||
					r["outcome"] == string(outcome.ClassSkipped) && strings.HasPrefix(r["message"], "already submitted")
				if !ok {
					t.Errorf("rerun row %s: %s %q", r["row"], r["outcome"], r["message"])
				}
			}
			if lost != 0 || twice != 0 || st.Stored != valid {
				t.Errorf("%d rows lost, %d stored twice, %d stored of %d", lost, twice, st.Stored, valid)
			}
		})
	}
}
