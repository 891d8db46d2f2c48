package engine

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/ledger"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/submit"
)

// Retry is a plan to send again the rows of an earlier run that ended
// failed (and, with Conflicts, conflict). The rows are read from the run's
// rejects files, which keep them exactly as they were sent, so the original
// files may have moved or changed since; which rows to send is read from the
// rejects files' typed outcome column (reports.RowClass), never from a
// message.
type Retry struct {
	// Dir is the earlier run's report folder.
	Dir string
	// Summary is its summary.json; its Settings hold the import settings
	// that run used, for the caller to reuse.
	Summary *reports.Summary
	// Conflicts also resends the rows that ended conflict, with
	// hard_override: they replace the activity's result.
	Conflicts bool
}

// PlanRetry reads the report folder dir of an earlier run.
func PlanRetry(dir string, conflicts bool) (*Retry, error) {
	sum, err := reports.ReadSummary(dir)
	if err != nil {
		return nil, fail(BadInput, err)
	}
	return &Retry{Dir: dir, Summary: sum, Conflicts: conflicts}, nil
}

// Rows is how many rows the plan sends again; zero means nothing to do.
func (p *Retry) Rows() int {
	if len(p.Summary.Reports.Rejects) == 0 {
		return 0
	}
	n := p.Summary.Counts[outcome.ClassFailed]
	if p.Conflicts {
		n += p.Summary.Counts[outcome.ClassConflict]
	}
	return n
}

// Apply makes j the retry: its files are the rejects files, it keeps only
// the rows to resend, its 409 policy is the earlier run's (always, with
// Conflicts). It refuses, with BadInput, a submitter that sends to another
// API than the earlier run did.
func (p *Retry) Apply(j *Job) error {
	sub := j.Submitter
	if sub == nil {
		return fail(BadInput, errors.New("engine: a retry needs a Submitter"))
	}
	if p.Summary.BaseURL != "" && sub.Client != nil {
		a, _, errA := ledger.NormalizeBaseURL(p.Summary.BaseURL)
		b, _, errB := ledger.NormalizeBaseURL(sub.Client.BaseURL)
		if errA == nil && errB == nil && a != b {
			return fail(BadInput, fmt.Errorf("the run in %s sent to %s, but RETEN_BASE_URL is %s: retry against the same tenant", p.Dir, a, b))
		}
	}
	sub.Policy = submit.OverrideNever
	if s, ok := p.Summary.Settings["hard-override"]; ok {
		policy, err := submit.ParseOverridePolicy(s)
		if err != nil {
			return fail(BadInput, fmt.Errorf("%s: hard-override setting: %v", filepath.Join(p.Dir, reports.SummaryName), err))
		}
		sub.Policy = policy
	}
	if p.Conflicts {
		sub.Policy = submit.OverrideAlways
	}
	want := map[outcome.Class]bool{outcome.ClassFailed: true, outcome.ClassConflict: p.Conflicts}
	j.Files = j.Files[:0:0]
	for _, name := range p.Summary.Reports.Rejects {
		j.Files = append(j.Files, filepath.Join(p.Dir, name))
	}
	j.Keep = func(row importer.Row) bool {
		c, ok := reports.RowClass(row)
		return ok && want[c]
	}
	j.ExpectedRows = p.Rows()
	j.Settings = append(j.Settings, reports.Setting{Name: "retry of", Value: p.Dir})
	return nil
}
