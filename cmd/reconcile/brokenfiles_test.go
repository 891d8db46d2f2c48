package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/sandbox/sandboxtest"
)

// One stray quote in data line 40 of a 301-line file used to swallow every
// line after it: 40 rows reported, the rest never sent, and an empty
// rejects row. Now the broken line is an invalid row holding its text, the
// rows after it are read and sent, and the run exits 1.
func TestRunStrayQuote(t *testing.T) {
	tenant := e2eTenant(t, 300)
	srv, base := sandboxtest.Start(t, tenant, sandbox.Faults{})
	var b strings.Builder
	b.WriteString(e2eHeader + "\n")
	for i, a := range tenant.Activities {
		commerce := a.CommerceExternalID
		if i == 39 {
			commerce = `"` + commerce // data line 40: file line 41
		}
		fmt.Fprintf(&b, "%s,%s,2026-04-11T10:30:00Z,EFFECTIVE,SALE_COMPLETED,\n", a.ID, commerce)
	}
	in := filepath.Join(t.TempDir(), "results.csv")
	writeFile(t, in, b.String())
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runMain(t, e2eEnv(base, e2eKey), "run", "--report-dir", dir, in)
	if code != exitRowsNotOK {
		t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", code, exitRowsNotOK, stdout, stderr)
	}
	report := readRunReport(t, dir)
	if len(report) != 300 {
		t.Errorf("report.csv holds %d rows, want 300", len(report))
	}
	for n := 2; n <= 301; n++ {
		r := report[n]
		want := "ok"
		if n == 41 {
			want = "invalid"
		}
		if r["outcome"] != want {
			t.Errorf("row %d: %s (%s), want %s", n, r["outcome"], r["message"], want)
		}
	}
	broken := report[41]
	for _, s := range []string{`unclosed quote opened on line 41, in column "commerce_external_id"`, "line 41 reads", "read again as rows of their own", `written as two: ""`} {
		if !strings.Contains(broken["message"], s) {
			t.Errorf("row 41's message %q does not say %q", broken["message"], s)
		}
	}
	a := tenant.Activities[39]
	if broken["activity_id"] != a.ID || broken["commerce_external_id"] != `"`+a.CommerceExternalID {
		t.Errorf("row 41's cells: %v", broken)
	}
	if posts := postsByActivity(srv); len(posts) != 299 || len(posts[a.ID]) != 0 {
		t.Errorf("%d activities sent (the broken row's %d times), want 299 and 0", len(posts), len(posts[a.ID]))
	}

	// The rejects file gives the line back, cell by cell, to be fixed.
	data, err := os.ReadFile(filepath.Join(dir, "rejects.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("rejects.csv: %d records, %v", len(recs), err)
	}
	if got := recs[1][:2]; got[0] != a.ID || got[1] != `"`+a.CommerceExternalID || !strings.Contains(recs[1][len(recs[1])-1], "unclosed quote") {
		t.Errorf("rejects row %q", recs[1])
	}
}

// A CSV saved by Excel for Mac as "CSV (Macintosh)" ends its lines in a
// lone \r: it used to read as a header with no rows, exit 0, nothing sent.
func TestRunCROnlyFile(t *testing.T) {
	tenant := e2eTenant(t, 20)
	srv, base := sandboxtest.Start(t, tenant, sandbox.Faults{})
	in := e2eCSV(t, tenant, "mac.csv", "\r")
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runMain(t, e2eEnv(base, e2eKey), "run", "--report-dir", dir, in)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	report := readRunReport(t, dir)
	for n := 2; n <= 21; n++ {
		if report[n]["outcome"] != "ok" {
			t.Errorf("row %d: %v", n, report[n])
		}
	}
	if len(report) != 20 || len(postsByActivity(srv)) != 20 {
		t.Errorf("%d rows reported, %d sent; want 20", len(report), len(postsByActivity(srv)))
	}
}
