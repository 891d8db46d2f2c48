package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/reten/reconcile/importer"
	"github.com/reten/reconcile/reconcile"
	"github.com/reten/reconcile/reconcile/api"
)

func main() {
	url := os.Args[1]
	n, _ := strconv.Atoi(os.Args[2])
	c, _ := api.NewClient(url, "rtn_sk_bench")
	s := &reconcile.Submitter{Client: c, Concurrency: 8}
	items := func(yield func(reconcile.Item) bool) {
		for i := 0; i < n; i++ {
			result := "SALE_COMPLETED"
			if i%2 == 1 {
				result = "NO_CONTACT"
			}
			it := reconcile.Item{Row: importer.Row{Pos: importer.Position{File: "x", Row: i + 2}}, Request: &api.SubmitRequest{
				ActivityID:         fmt.Sprintf("be000000-0000-4000-8000-%012d", i+1),
				CommerceExternalID: fmt.Sprintf("BC-%05d", i%1000),
				OccurredAt:         api.FormatTime(time.Date(2026, 4, 11, 10, 30, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)),
				Status:             "EFFECTIVE",
				TaskResult:         api.TaskResult{Result: result},
			}}
			if !yield(it) {
				return
			}
		}
	}
	t0 := time.Now()
	st, err := s.Run(context.Background(), items, func(reconcile.Outcome) {})
	d := time.Since(t0)
	fmt.Println(st.Counts, err, d, float64(n)/d.Seconds())
}
