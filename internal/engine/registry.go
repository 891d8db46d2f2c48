package engine

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reten/reconcile/internal/atomicfile"
	"github.com/reten/reconcile/internal/outcome"
)

// RunsDir is the folder of a state directory where every run that held it
// leaves a record, RUNID.json: the history of what was sent from that state
// directory, whichever front door started the run (a cron job's nightly
// `run --inbox`, a `reconcile run` by hand, the web console).
const RunsDir = "runs"

// RunRecord is what the registry keeps of one run. It is written when the
// run has opened its files and again when it ends, each time whole.
type RunRecord struct {
	ID      string   `json:"id"`
	Command string   `json:"command"`
	Files   []string `json:"files"` // as the reports name them
	// PID and Host are the process that ran it, to tell a run still going
	// from one that was killed before it could record its end.
	PID      int       `json:"pid"`
	Host     string    `json:"host"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	// Ending is how the run ended (Ending.String()); "" until it has.
	Ending   string                `json:"ending"`
	Error    string                `json:"error,omitempty"`
	ExitCode int                   `json:"exit_code"`
	Total    int                   `json:"total"`
	Counts   map[outcome.Class]int `json:"counts"`
	// ReportDir is the absolute path of the run's report folder.
	ReportDir string `json:"report_dir"`
}

// Ended reports whether the run recorded its end.
func (r *RunRecord) Ended() bool { return r.Ending != "" }

// runIDPattern is what NewRunID makes, with the -N an inbox adds for each
// of its files.
var runIDPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}(-[0-9]{1,6})?$`)

// ValidRunID reports whether id is one NewRunID (or an inbox) could have
// made: anything else is refused before it comes near a file name.
func ValidRunID(id string) bool { return runIDPattern.MatchString(id) }

func recordPath(stateDir, id string) string {
	return filepath.Join(stateDir, RunsDir, id+".json")
}

// ReadRun reads the record of run id in stateDir; an error wrapping
// os.ErrNotExist when there is none.
func ReadRun(stateDir, id string) (*RunRecord, error) {
	if !ValidRunID(id) {
		return nil, fmt.Errorf("%q is not a run id: %w", id, os.ErrNotExist)
	}
	data, err := os.ReadFile(recordPath(stateDir, id))
	if err != nil {
		return nil, err
	}
	var r RunRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v); delete it to drop the run from the history", recordPath(stateDir, id), err)
	}
	if r.ID != id {
		return nil, fmt.Errorf("%s describes run %q; delete it to drop it from the history", recordPath(stateDir, id), r.ID)
	}
	return &r, nil
}

// ListRuns returns the ids of the runs recorded in stateDir, newest first.
// Ids begin with their start time to the second, which orders them but for
// runs started within one second (an inbox's files, numbered -1, -2, ...),
// whose records say which came first; reading the others is left to the
// caller, a page at a time.
func ListRuns(stateDir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(stateDir, RunsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok && e.Type().IsRegular() && ValidRunID(id) {
			ids = append(ids, id)
		}
	}
	const second = len("20060102T150405Z")
	slices.SortFunc(ids, func(a, b string) int { return strings.Compare(b[:second], a[:second]) })
	started := map[string]time.Time{}
	when := func(id string) time.Time {
		t, ok := started[id]
		if !ok {
			if r, err := ReadRun(stateDir, id); err == nil {
				t = r.Started
			}
			started[id] = t
		}
		return t
	}
	for i := 0; i < len(ids); {
		j := i + 1
		for j < len(ids) && ids[j][:second] == ids[i][:second] {
			j++
		}
		if j-i > 1 {
			slices.SortStableFunc(ids[i:j], func(a, b string) int {
				if c := when(b).Compare(when(a)); c != 0 {
					return c
				}
				return cmp.Compare(inboxFile(b), inboxFile(a))
			})
		}
		i = j
	}
	return ids, nil
}

// inboxFile is the number an inbox gives the run of its Nth file, 0 for
// another run.
func inboxFile(id string) int {
	if len(id) > len("20060102T150405Z-000000-") {
		n, _ := strconv.Atoi(id[len("20060102T150405Z-000000-"):])
		return n
	}
	return 0
}

// recorder keeps one run's record up to date.
type recorder struct {
	path string
	rec  RunRecord
}

// newRecorder starts the record of a run that holds stateDir.
func newRecorder(stateDir, id, command string, files []string, started time.Time, reportDir string) *recorder {
	host, _ := os.Hostname()
	abs, err := filepath.Abs(reportDir)
	if err != nil {
		abs = reportDir
	}
	return &recorder{path: recordPath(stateDir, id), rec: RunRecord{
		ID: id, Command: command, Files: slices.Clone(files), PID: os.Getpid(), Host: host,
		Started: started.UTC(), Counts: map[outcome.Class]int{}, ReportDir: abs,
	}}
}

// write saves the record whole, so a reader never sees half of it.
func (r *recorder) write() error {
	if err := os.MkdirAll(filepath.Dir(r.path), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteJSON(r.path, 0o600, &r.rec)
}

// finish records how the run ended.
func (r *recorder) finish(res *Result, code int) error {
	r.rec.Finished = time.Now().UTC()
	r.rec.Ending = res.Ending.String()
	if res.Err != nil {
		r.rec.Error = res.Err.Error()
	}
	r.rec.ExitCode = code
	r.rec.Total = 0
	for c, n := range res.Counts {
		r.rec.Counts[c] = n
		r.rec.Total += n
	}
	return r.write()
}

// moveRecord points run id's record at its report folder's new place (the
// inbox moves a file's reports once its job has ended).
func moveRecord(stateDir, id, reportDir string) error {
	r, err := ReadRun(stateDir, id)
	if err != nil {
		return err
	}
	rc := &recorder{path: recordPath(stateDir, id), rec: *r}
	if rc.rec.ReportDir, err = filepath.Abs(reportDir); err != nil {
		return err
	}
	return rc.write()
}
