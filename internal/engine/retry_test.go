package engine

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/atomicfile"
	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/submit"
)

// A retry chooses its rows by the rejects file's typed outcome column; the
// reason text beside it, whatever it says, decides nothing.
func TestRetryKeepsByTypedColumn(t *testing.T) {
	dir := t.TempDir()
	sum := &reports.Summary{
		BaseURL:  "http://127.0.0.1:8080",
		Counts:   map[outcome.Class]int{outcome.ClassFailed: 1, outcome.ClassConflict: 1, outcome.ClassRejected: 1},
		Settings: map[string]string{"hard-override": "row"},
		Reports:  reports.Reports{Rejects: []string{"rejects.csv"}},
	}
	if err := atomicfile.WriteJSON(filepath.Join(dir, reports.SummaryName), 0o644, sum); err != nil {
		t.Fatal(err)
	}
	layout := &importer.Layout{Columns: []string{"activity_id", reports.RejectsRowColumn, reports.RejectsOutcomeColumn, reports.RejectsErrorColumn}}
	row := func(class, reason string) importer.Row {
		return importer.Row{Layout: layout, Cells: []string{"a", "2", class, reason}}
	}
	rows := []importer.Row{
		row("failed", "503 Service Unavailable: try later"),
		row("conflict", "failed (503 Service Unavailable): a reason that reads like another class"),
		row("rejected", "failed"),
		row("", "failed (503)"),
	}
	for _, tc := range []struct {
		conflicts bool
		keep      []bool
		policy    submit.OverridePolicy
		n         int
	}{
		{false, []bool{true, false, false, false}, submit.OverrideRow, 1},
		{true, []bool{true, true, false, false}, submit.OverrideAlways, 2},
	} {
		plan, err := PlanRetry(dir, tc.conflicts)
		if err != nil {
			t.Fatal(err)
		}
		client, _ := api.NewClient("http://localhost:8080/", "rtn_sk_x")
		job := &Job{Submitter: &submit.Submitter{Client: client}}
		if err := plan.Apply(job); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		var got []bool
		for _, r := range rows {
			got = append(got, job.Keep(r))
		}
		if !slices.Equal(got, tc.keep) {
			t.Errorf("conflicts=%v: kept %v, want %v", tc.conflicts, got, tc.keep)
		}
		if job.Submitter.Policy != tc.policy || job.ExpectedRows != tc.n || plan.Rows() != tc.n {
			t.Errorf("conflicts=%v: policy %q, %d rows expected, want %q and %d", tc.conflicts, job.Submitter.Policy, job.ExpectedRows, tc.policy, tc.n)
		}
		if !slices.Equal(job.Files, []string{filepath.Join(dir, "rejects.csv")}) {
			t.Errorf("files %q", job.Files)
		}
	}

	// Another API than the run's is refused.
	plan, _ := PlanRetry(dir, false)
	client, _ := api.NewClient("https://api.reten.ai", "rtn_sk_x")
	err := plan.Apply(&Job{Submitter: &submit.Submitter{Client: client}})
	if EndingOf(err) != BadInput || !strings.Contains(err.Error(), "same tenant") {
		t.Errorf("retry against another API: %v", err)
	}
	// A folder with no summary is bad input.
	if _, err := PlanRetry(t.TempDir(), false); EndingOf(err) != BadInput {
		t.Errorf("no summary: %v", err)
	}
}

// An inbox run ends as its worst file did.
func TestSeverity(t *testing.T) {
	needs := map[outcome.Class]int{outcome.ClassFailed: 1}
	order := []*Result{
		{Ending: Finished},
		{Ending: Finished, Counts: needs},
		{Ending: BadInput},
		{Ending: ReportFailed},
		{Ending: Interrupted},
		{Ending: KeyRefused},
		{Ending: Locked},
	}
	for i := 1; i < len(order); i++ {
		if Severity(order[i]) <= Severity(order[i-1]) {
			t.Errorf("%v (needs person %d) is not worse than %v", order[i].Ending, order[i].NeedsPerson(), order[i-1].Ending)
		}
	}
	for _, e := range []Ending{APIFailed, ReadFailed, LedgerFailed} {
		if Severity(&Result{Ending: e}) != Severity(&Result{Ending: ReportFailed}) {
			t.Errorf("%v is not as bad as any other failure", e)
		}
	}
}
