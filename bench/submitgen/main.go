// Command submitgen writes the inputs of bench/submit.sh: a sandbox tenant with n
// activities, a CSV with one result row for each, and the same requests as a
// load generator's target list, so that reconcile and the load generator send
// identical bodies to identical sandboxes.
//
//	go run ./bench/submitgen -n 20000 -dir bench/out            # tenant.json, rows.csv
//	go run ./bench/submitgen -n 20000 -shuffle -invalid 100     # rows in random order, 1 in 100 invalid
//	go run ./bench/submitgen -n 20000 -dir bench/out -url URL   # targets.jsonl for URL
//	go run ./bench/submitgen -reset URL                         # the sandbox at URL forgets everything
//	go run ./bench/submitgen -span URL                          # POSTs the sandbox at URL saw, and their rate
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/reten/reconcile/internal/api"
)

// benchKey is the sandbox tenant's key; it exists only in the generated tenant.
const benchKey = "rtn_sk_bench"

type activity struct {
	ID                 string `json:"id"`
	ProviderActivityID string `json:"provider_activity_id"`
	CommerceExternalID string `json:"commerce_external_id"`
}

type tenant struct {
	Name       string                 `json:"name"`
	Keys       map[string][]string    `json:"keys"`
	Configs    []api.ResultTypeConfig `json:"configs"`
	Activities []activity             `json:"activities"`
}

func main() {
	n := flag.Int("n", 20000, "activities and rows")
	dir := flag.String("dir", "bench/out", "output folder")
	url := flag.String("url", "", "sandbox base URL; if set, write only targets.jsonl for it")
	span := flag.String("span", "", "sandbox base URL; if set, print how many POSTs it logged, from first to last, and their rate")
	reset := flag.String("reset", "", "sandbox base URL; if set, make it forget every result and counter")
	shuffle := flag.Bool("shuffle", false, "write rows.csv in a random order (always the same one), not in the order of the activities' ids")
	invalid := flag.Int("invalid", 0, "if K > 0, every K-th row of rows.csv names a result type the tenant lacks, so that it ends invalid")
	flag.Parse()
	if *reset != "" {
		resp, err := http.Post(*reset+"/_sandbox/reset", "application/json", nil)
		must(err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			log.Fatalf("reset: %s", resp.Status)
		}
		return
	}
	if *span != "" {
		must(printSpan(*span))
		return
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	acts := make([]activity, *n)
	for i := range acts {
		acts[i] = activity{
			ID:                 fmt.Sprintf("be000000-0000-4000-8000-%012d", i+1),
			ProviderActivityID: fmt.Sprintf("BENCH-%07d", i+1),
			CommerceExternalID: fmt.Sprintf("BC-%05d", i%1000),
		}
	}
	if *url != "" {
		must(writeTargets(filepath.Join(*dir, "targets.jsonl"), *url, acts))
		return
	}
	t := tenant{
		Name: "Bench tenant",
		Keys: map[string][]string{benchKey: {api.PermViewActivities, api.PermSubmitActivityResult}},
		Configs: []api.ResultTypeConfig{
			{Code: "SALE_COMPLETED", Label: "Venta completada"},
			{Code: "NO_CONTACT", Label: "Sin contacto"},
		},
		Activities: acts,
	}
	data, err := json.Marshal(t)
	must(err)
	must(os.WriteFile(filepath.Join(*dir, "tenant.json"), data, 0o644))
	order := make([]int, len(acts))
	for i := range order {
		order[i] = i
	}
	if *shuffle {
		// Real exports do not list activities in the order of their ids:
		// the ledger then meets its keys at random places, as it would.
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	must(writeRows(filepath.Join(*dir, "rows.csv"), acts, order, *invalid))
}

// request is the body reconcile sends for row i of rows.csv.
func request(i int, a activity) api.SubmitRequest {
	result := "SALE_COMPLETED"
	if i%2 == 1 {
		result = "NO_CONTACT"
	}
	return api.SubmitRequest{
		ActivityID:         a.ID,
		CommerceExternalID: a.CommerceExternalID,
		OccurredAt:         api.FormatTime(occurred(i)),
		Status:             api.StatusEffective,
		TaskResult:         api.TaskResult{Result: result},
	}
}

func occurred(i int) time.Time {
	return time.Date(2026, 4, 11, 10, 30, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
}

// writeRows writes the row of each activity in order; with invalid > 0,
// every invalid-th row asks for a result type the tenant does not have.
func writeRows(path string, acts []activity, order []int, invalid int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "activity_id,commerce_external_id,occurred_at,status,result")
	for n, i := range order {
		r := request(i, acts[i])
		if invalid > 0 && (n+1)%invalid == 0 {
			r.TaskResult.Result = "NOT_A_RESULT_TYPE"
		}
		fmt.Fprintf(w, "%s,%s,%s,%s,%s\n", r.ActivityID, r.CommerceExternalID, r.OccurredAt, r.Status, r.TaskResult.Result)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeTargets writes the requests in the load generator's JSON target
// format, one per line.
func writeTargets(path, base string, acts []activity) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for i, a := range acts {
		body, err := json.Marshal(request(i, a))
		if err != nil {
			return err
		}
		err = enc.Encode(map[string]any{
			"method": "POST",
			"url":    base + api.PathSubmit,
			"body":   body, // []byte: base64, as the format wants
			"header": map[string][]string{
				"x-api-key":    {benchKey},
				"Content-Type": {"application/json"},
				"Accept":       {"application/json"},
			},
		})
		if err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// printSpan reads the sandbox's request log and prints the POSTs' count, the
// time from the first to the last one's arrival and the rate over it: the
// sending rate alone, whatever the client did before and after.
func printSpan(base string) error {
	resp, err := http.Get(base + "/_sandbox/requests")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var reqs []struct {
		Time   time.Time `json:"time"`
		Method string    `json:"method"`
		Status int       `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reqs); err != nil {
		return err
	}
	var first, last time.Time
	n, ok := 0, 0
	for _, r := range reqs {
		if r.Method != http.MethodPost {
			continue
		}
		n++
		if r.Status/100 == 2 {
			ok++
		}
		if first.IsZero() || r.Time.Before(first) {
			first = r.Time
		}
		if r.Time.After(last) {
			last = r.Time
		}
	}
	span := last.Sub(first).Seconds()
	rate := 0.0
	if span > 0 {
		rate = float64(n-1) / span
	}
	fmt.Printf("posts=%d accepted=%d span_s=%.3f rate=%.0f\n", n, ok, span, rate)
	return nil
}
