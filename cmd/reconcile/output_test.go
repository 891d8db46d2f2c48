package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/sandbox/sandboxtest"
)

// outputFile is a file with one valid row and one invalid one.
func outputFile(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "in.csv")
	writeFile(t, path, "provider_activity_id,commerce_external_id,occurred_at,status,result\n"+
		"YOM-1,COM-1,2026-04-11T10:30:00Z,EFFECTIVE,Venta completada\n"+
		"YOM-2,COM-1,2026-04-11T10:30:00Z,DONE,Venta completada\n")
	return path
}

// --json: stdout is the summary as JSON and nothing else, the same that
// summary.json holds.
func TestJSONSummaryOnStdout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	code, stdout, stderr := runMain(t, nil, "validate", "--json", "--configs", tenantCache(t), "--report-dir", dir, outputFile(t))
	if code != exitRowsNotOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got reports.Summary
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Errorf("stdout holds more than the summary: %q", stdout)
	}
	if got.Total != 2 || got.Counts["valid"] != 1 || got.Counts["invalid"] != 1 || got.ExitCode != exitRowsNotOK ||
		len(got.TopMessages) != 1 || got.TopMessages[0].Code != "bad_status" || !strings.Contains(got.TopMessages[0].Example, `"DONE"`) {
		t.Errorf("summary = %+v", got)
	}
	onDisk, err := reports.ReadSummary(dir)
	if err != nil {
		t.Fatal(err)
	}
	if onDisk.Total != got.Total || onDisk.Finished != got.Finished {
		t.Errorf("stdout's summary is not summary.json's: %+v", onDisk)
	}
}

// --log-format json: every line on stderr is a slog JSON object, the
// progress and the error alike.
func TestLogFormatJSON(t *testing.T) {
	code, stdout, stderr := runMain(t, nil, "validate", "--log-format", "json", "--configs", tenantCache(t),
		"--report-dir", filepath.Join(t.TempDir(), "r"), outputFile(t))
	if code != exitRowsNotOK || !strings.Contains(stdout, "2 rows in") {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	checkJSONLines(t, stderr, "finished")

	code, _, stderr = runMain(t, nil, "validate", "--log-format", "json", "--configs", tenantCache(t), filepath.Join(t.TempDir(), "none.csv"))
	if code != exitUsage {
		t.Fatalf("exit %d", code)
	}
	checkJSONLines(t, stderr, "none.csv does not exist")

	if code, _, stderr := runMain(t, nil, "validate", "--log-format", "xml", outputFile(t)); code != exitUsage || !strings.Contains(stderr, "use text or json") {
		t.Errorf("--log-format xml: exit %d, %q", code, stderr)
	}
}

// checkJSONLines fails t unless every line of s is a JSON object with time,
// level and msg, and one msg holds want.
func checkJSONLines(t *testing.T, s, want string) {
	t.Helper()
	found := false
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Errorf("not a JSON line: %q", sc.Text())
			continue
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := line[k]; !ok {
				t.Errorf("line without %s: %q", k, sc.Text())
			}
		}
		if msg, _ := line["msg"].(string); strings.Contains(msg, want) {
			found = true
		}
	}
	if !found {
		t.Errorf("no line says %q in:\n%s", want, s)
	}
}

// --quiet: nothing on stdout, only errors on stderr; the reports are
// written all the same.
func TestQuiet(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	code, stdout, stderr := runMain(t, nil, "validate", "--quiet", "--configs", tenantCache(t), "--report-dir", dir, outputFile(t))
	if code != exitRowsNotOK || stdout != "" || stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and silence", code, stdout, stderr)
	}
	if _, err := reports.ReadSummary(dir); err != nil {
		t.Errorf("no summary.json: %v", err)
	}
	code, stdout, stderr = runMain(t, nil, "validate", "--quiet", "--configs", tenantCache(t), filepath.Join(t.TempDir(), "none.csv"))
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "none.csv does not exist") {
		t.Errorf("an error with --quiet: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// run --json against the sandbox: the summary of a run that sent, alone on stdout.
func TestRunJSON(t *testing.T) {
	tenant := e2eTenant(t, 3)
	_, base := sandboxtest.Start(t, tenant, sandbox.Faults{})
	in := e2eCSV(t, tenant, "results.csv", "\n")
	code, stdout, stderr := runMain(t, e2eEnv(base, e2eKey), "run", "--json", "--report-dir", filepath.Join(t.TempDir(), "out"), in)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got reports.Summary
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON summary: %v\n%s", err, stdout)
	}
	if got.Command != "run" || got.Counts["ok"] != 3 || got.Total != 3 {
		t.Errorf("summary = %+v", got)
	}
}

// e2eCSV writes a valid row for every activity of tenant, its lines ending
// in eol, and returns its path.
func e2eCSV(t *testing.T, tenant *sandbox.Tenant, name, eol string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(e2eHeader + eol)
	for _, a := range tenant.Activities {
		fmt.Fprintf(&b, "%s,%s,2026-04-11T10:30:00Z,EFFECTIVE,SALE_COMPLETED,%s", a.ID, a.CommerceExternalID, eol)
	}
	path := filepath.Join(t.TempDir(), name)
	writeFile(t, path, b.String())
	return path
}
