package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/reten/reconcile/internal/pgledger"
)

// ledgerCommand is `reconcile ledger`: the shared ledger in PostgreSQL, its
// schema (migrate) and who works on it (status).
type ledgerCommand struct{ env *environ }

func (c *ledgerCommand) usage() usage {
	return usage{
		use:   "ledger COMMAND",
		short: "create or migrate the shared PostgreSQL ledger, or show its workers, claims and rows in doubt",
		long: `Manages a ledger in PostgreSQL (--ledger URL or RECONCILE_LEDGER_URL), which
several workers, on one host or many, share without sending a row twice.`,
	}
}

func (c *ledgerCommand) flags(*pflag.FlagSet) {}

func (c *ledgerCommand) subcommands() []command {
	return []command{&ledgerMigrateCommand{env: c.env}, &ledgerStatusCommand{env: c.env}}
}

func (c *ledgerCommand) Run(context.Context, []string) error {
	return usageError("usage: reconcile ledger migrate|status [--ledger URL]")
}

// ledgerURLFlag registers --ledger for the ledger commands.
func ledgerURLFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "ledger", "", "`URL` of the ledger in PostgreSQL, postgres://USER:PASSWORD@HOST/DB (default: $"+ledgerURLVar+")")
}

// ledgerURL is the URL given, or the environment's, checked.
func ledgerURL(env *environ, flag string) (string, error) {
	url := flag
	if url == "" {
		url = env.getenv(ledgerURLVar)
	}
	if url == "" {
		return "", usageError("no ledger: pass --ledger postgres://USER:PASSWORD@HOST/DB or set %s (the state directory's ledger file needs no set-up)", ledgerURLVar)
	}
	return url, checkLedgerURL(url)
}

// ledgerMigrateCommand is `reconcile ledger migrate`: create the schema, or
// bring it to this reconcile's version. Workers do it themselves when they
// start; this is for doing it ahead, with a role allowed to.
type ledgerMigrateCommand struct {
	env *environ
	url string
}

func (c *ledgerMigrateCommand) usage() usage {
	return usage{
		use:   "migrate [--ledger URL]",
		short: "create the ledger's tables, or bring them to this reconcile's schema version",
		long: `Creates the ledger's tables in the database, or applies the migrations this
reconcile knows and the database lacks, in one transaction. Workers do the same
when they start; a schema newer than this reconcile is refused.`,
	}
}

func (c *ledgerMigrateCommand) flags(fs *pflag.FlagSet) { ledgerURLFlag(fs, &c.url) }

func (c *ledgerMigrateCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return usageError("ledger migrate takes no arguments")
	}
	url, err := ledgerURL(c.env, c.url)
	if err != nil {
		return err
	}
	m, err := pgledger.Migrate(ctx, url)
	if err != nil {
		return withCode(exitError, err)
	}
	if m.From == m.To {
		fmt.Fprintf(c.env.stdout, "the ledger at %s is at schema version %d: nothing to do\n", pgledger.Redact(url), m.To)
	} else {
		fmt.Fprintf(c.env.stdout, "the ledger at %s migrated from schema version %d to %d\n", pgledger.Redact(url), m.From, m.To)
	}
	return nil
}

// ledgerStatusCommand is `reconcile ledger status`.
type ledgerStatusCommand struct {
	env    *environ
	url    string
	limit  int
	asJSON bool
}

func (c *ledgerStatusCommand) usage() usage {
	return usage{
		use:   "status [--ledger URL] [--json]",
		short: "show the shared ledger's workers, the activities they are sending and the rows in doubt",
		long: `Shows, without changing anything, the workers registered in the ledger (live
or dead without having closed), the claims they hold and the rows in doubt: sent
without an answer and not being sent by a live worker. A rerun sends those again
and takes a 409 for them as its own.`,
	}
}

func (c *ledgerStatusCommand) flags(fs *pflag.FlagSet) {
	ledgerURLFlag(fs, &c.url)
	fs.IntVar(&c.limit, "limit", 20, "list at most `N` rows in doubt (the total is always given)")
	fs.BoolVar(&c.asJSON, "json", false, "print the status as JSON")
}

// statusJSON is what --json prints; its names are for scripts to rely on.
type statusJSON struct {
	Ledger       string        `json:"ledger"`
	Schema       int           `json:"schema_version"`
	Workers      []workerJSON  `json:"workers"`
	Claims       []claimJSON   `json:"claims"`
	InDoubt      []inDoubtJSON `json:"in_doubt"`
	InDoubtTotal int           `json:"in_doubt_total"`
	Live         int           `json:"live_workers"`
}

type workerJSON struct {
	ID        string    `json:"id"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Run       string    `json:"run"`
	Started   time.Time `json:"started"`
	Heartbeat time.Time `json:"heartbeat"`
	TTLMS     int64     `json:"ttl_ms"`
	Live      bool      `json:"live"`
	Claims    int       `json:"claims"`
}

type claimJSON struct {
	Activity string    `json:"activity"`
	Worker   string    `json:"worker"`
	Since    time.Time `json:"since"`
	Live     bool      `json:"live"`
}

type inDoubtJSON struct {
	Activity string    `json:"activity"`
	Run      string    `json:"run"`
	Worker   string    `json:"worker"`
	File     string    `json:"file"`
	Sheet    string    `json:"sheet,omitempty"`
	Row      int       `json:"row"`
	Started  time.Time `json:"started"`
	Class    string    `json:"class,omitempty"` // "" when no outcome was recorded
	Message  string    `json:"message,omitempty"`
}

func (c *ledgerStatusCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return usageError("ledger status takes no arguments")
	}
	if c.limit < 0 {
		return usageError("--limit must be 0 or more, got %d", c.limit)
	}
	url, err := ledgerURL(c.env, c.url)
	if err != nil {
		return err
	}
	st, err := pgledger.ReadStatus(ctx, url, c.limit)
	if err != nil {
		return withCode(exitError, err)
	}
	out := statusJSON{Ledger: pgledger.Redact(url), Schema: st.Version, InDoubtTotal: st.InDoubtTotal,
		Workers: []workerJSON{}, Claims: []claimJSON{}, InDoubt: []inDoubtJSON{}}
	for _, w := range st.Workers {
		out.Workers = append(out.Workers, workerJSON{ID: w.ID, Host: w.Host, PID: w.PID, Run: w.Run, Started: w.Started,
			Heartbeat: w.Heartbeat, TTLMS: w.TTL.Milliseconds(), Live: w.Live, Claims: w.Claims})
		if w.Live {
			out.Live++
		}
	}
	for _, cl := range st.Claims {
		out.Claims = append(out.Claims, claimJSON{Activity: cl.Activity, Worker: cl.Worker, Since: cl.Since, Live: cl.Live})
	}
	for _, a := range st.InDoubt {
		d := inDoubtJSON{Activity: a.Activity, Run: a.Run, Worker: a.Worker, File: a.File, Sheet: a.Sheet, Row: a.Row, Started: a.Started}
		if a.Outcome != nil {
			d.Class, d.Message = string(a.Outcome.Class), a.Outcome.Message
		}
		out.InDoubt = append(out.InDoubt, d)
	}
	if c.asJSON {
		enc := json.NewEncoder(c.env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	printStatus(c.env, &out)
	return nil
}

// printStatus is the table `ledger status` prints for a person.
func printStatus(env *environ, st *statusJSON) {
	w := env.stdout
	fmt.Fprintf(w, "ledger %s, schema version %d\n\n", st.Ledger, st.Schema)
	fmt.Fprintf(w, "workers: %d live, %d dead without having stopped\n", st.Live, len(st.Workers)-st.Live)
	if len(st.Workers) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  WORKER\tSTATE\tHOST\tPID\tRUN\tSTARTED\tHEARTBEAT\tCLAIMS")
		for _, x := range st.Workers {
			state := "dead"
			if x.Live {
				state = "live"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\t%s\t%d\n", x.ID, state, x.Host, x.PID, x.Run,
				x.Started.UTC().Format(time.DateTime), x.Heartbeat.UTC().Format(time.DateTime), x.Claims)
		}
		tw.Flush()
	}
	live := 0
	for _, c := range st.Claims {
		if c.Live {
			live++
		}
	}
	fmt.Fprintf(w, "\nclaims: %d being sent by live workers, %d left by dead ones (taken over by the next worker to reach them)\n", live, len(st.Claims)-live)
	fmt.Fprintf(w, "\nrows in doubt: %d (sent without an answer; a rerun sends them again and takes a 409 as its own)\n", st.InDoubtTotal)
	if len(st.InDoubt) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  ACTIVITY\tFILE\tSHEET\tROW\tRUN\tWORKER\tSENT\tOUTCOME")
		for _, d := range st.InDoubt {
			class := "none recorded"
			if d.Class != "" {
				class = d.Class + ": " + shorten(d.Message, 60)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", d.Activity, d.File, d.Sheet, d.Row, d.Run, d.Worker,
				d.Started.UTC().Format(time.DateTime), class)
		}
		tw.Flush()
		if more := st.InDoubtTotal - len(st.InDoubt); more > 0 {
			fmt.Fprintf(w, "  ... and %d more (--limit N, or --json)\n", more)
		}
	}
}

// shorten cuts s to n runes, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
