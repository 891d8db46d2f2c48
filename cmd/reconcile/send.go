package main

import (
	"runtime/debug"
	"strings"
	"time"
	_ "time/tzdata" // --timezone works on servers without a zone database

	"github.com/spf13/pflag"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/ledger"
	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/submit"
)

// inputFlags are the flags that say how input files are read: run, retry
// and validate share them.
type inputFlags struct {
	mapping, delimiter, encoding, sheet, dateFormat, timezone string
	fs                                                        *pflag.FlagSet // where they were registered; nil when set by hand (demo)
}

func (f *inputFlags) register(fs *pflag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.mapping, "mapping", "", "`FILE` mapping your column headers to contract fields, one \"header = field\" per line")
	fs.StringVar(&f.delimiter, "delimiter", "", "CSV field `SEPARATOR`: , ; | or tab (default: detected)")
	fs.StringVar(&f.encoding, "encoding", "", "CSV `ENCODING`: utf-8, windows-1252, latin1 or utf-16 (default: detected)")
	fs.StringVar(&f.sheet, "sheet", "", "workbook `SHEET` to read (default: the first)")
	fs.StringVar(&f.dateFormat, "date-format", "", "`LAYOUT` of non-ISO dates: dd/mm/yyyy, dd/mm/yyyy hh:mm, mm/dd/yyyy, d/m/yy h:mm, or a Go layout such as 02/01/2006 15:04 (default: ISO 8601 and date cells only)")
	fs.StringVar(&f.timezone, "timezone", "UTC", "IANA `ZONE` that dates without a zone are in, e.g. America/Santiago")
}

// values are the flags by name, as the reports' settings name them.
func (f *inputFlags) values() map[string]*string {
	return map[string]*string{
		"mapping": &f.mapping, "delimiter": &f.delimiter, "encoding": &f.encoding,
		"sheet": &f.sheet, "date-format": &f.dateFormat, "timezone": &f.timezone,
	}
}

// inherit takes the import settings an earlier run recorded (retry), but
// for those given again on this command line.
func (f *inputFlags) inherit(settings map[string]string) {
	for name, p := range f.values() {
		if v, ok := settings[name]; ok && (f.fs == nil || !f.fs.Changed(name)) {
			*p = v
		}
	}
}

// options turns the flags into importer options, or a usage error saying what to fix.
func (f *inputFlags) options() (importer.Options, error) {
	opts := importer.Options{MappingFile: f.mapping, Encoding: f.encoding, Sheet: f.sheet, DateFormat: f.dateFormat}
	var err error
	if opts.Delimiter, err = parseDelimiter("delimiter", f.delimiter); err != nil {
		return opts, err
	}
	loc, err := time.LoadLocation(f.timezone)
	if err != nil {
		return opts, usageError("--timezone %q is not an IANA time zone; use a name such as America/Santiago or UTC", f.timezone)
	}
	opts.Location = loc
	if f.dateFormat != "" {
		layout, err := importer.DateLayout(f.dateFormat)
		if err != nil {
			return opts, withCode(exitUsage, err)
		}
		if !strings.Contains(layout, "06") {
			return opts, usageError("--date-format %q has no year: write it as dd/mm/yyyy hh:mm, or in Go's notation, e.g. 02/01/2006 15:04", f.dateFormat)
		}
	}
	return opts, nil
}

// settings are the import settings in effect, for the reports (and a later
// retry, which reads them back).
func (f *inputFlags) settings() []reports.Setting {
	var s []reports.Setting
	for _, name := range []string{"mapping", "delimiter", "encoding", "sheet", "date-format", "timezone"} {
		if v := *f.values()[name]; v != "" {
			s = append(s, reports.Setting{Name: name, Value: v})
		}
	}
	return s
}

// configsFlag is a flag of every command that reads the result types'
// cache, sending or not. Its default def is a cache file; "" downloads the result types.
func configsFlag(fs *pflag.FlagSet, p *string, def string) {
	usage := "`FILE` of result types written by `reconcile configs pull`"
	if def == "" {
		usage += " (default: download them now)"
	}
	fs.StringVar(p, "configs", def, usage)
}

// memoryLimit is the soft limit on the Go runtime's memory a sending
// command sets (debug.SetMemoryLimit) unless GOMEMLIMIT says otherwise:
// above the live heap of a run at concurrency 16, which a heap profile put
// at about 15 MB at 100k rows and 39 MB at 1M (docs/ledger.md, "Memory and
// size").
const memoryLimit = 48 << 20

// sendFlags are the groups of sending flags a command offers besides the
// ones every sending command has (pacing, retries, timeout).
type sendFlags uint

const (
	withPolicy    sendFlags = 1 << iota // --hard-override
	withCache                           // --configs
	withLedger                          // --state-dir, --ledger, --claim-ttl, --tenant-rate
	withForce                           // --force
	withDryRun                          // --dry-run
	withReportDir                       // --report-dir, --report-delimiter
)

// ledgerURLVar is the environment variable that --ledger defaults to, so
// that the URL's password need not be on a command line.
const ledgerURLVar = "RECONCILE_LEDGER_URL"

// sendOptions are the flags of the commands that send (run, retry, demo):
// registered, checked and turned into a ready engine.Job with its submitter
// in one place, so that no command repeats a flag, a check or a setting.
// Set the defaults before register; zero values are not defaults.
type sendOptions struct {
	offers sendFlags

	concurrency int
	rate        float64
	retries     int // as submit.Submitter.Retries: zero retries none
	timeout     time.Duration
	maxWait     time.Duration // as submit.Submitter.MaxWait
	deadline    time.Duration // from the command's start; 0: none
	policy      string
	configs     string
	report      reportFlags
	stateDir    string
	ledgerURL   string        // "": the state dir's file; else RECONCILE_LEDGER_URL's default
	claimTTL    time.Duration // as engine.Job.ClaimTTL
	tenantRate  float64
	force       bool
	dryRun      bool

	fs *pflag.FlagSet
}

// newSendOptions gives the documented defaults of the flags offers adds.
func newSendOptions(offers sendFlags) sendOptions {
	return sendOptions{
		offers:      offers,
		concurrency: submit.DefaultConcurrency,
		retries:     submit.DefaultRetries,
		timeout:     api.DefaultTimeout,
		maxWait:     submit.DefaultMaxWait,
		policy:      string(submit.OverrideNever),
	}
}

func (o *sendOptions) register(fs *pflag.FlagSet) {
	o.fs = fs
	fs.IntVar(&o.concurrency, "concurrency", o.concurrency, "`N` requests in flight at once")
	fs.Float64Var(&o.rate, "rate", o.rate, "at most `N` requests per second, retries included (0: no limit)")
	fs.IntVar(&o.retries, "retries", o.retries, "`N` times a 5xx, 429, timeout or connection error is retried (0: never)")
	fs.DurationVar(&o.timeout, "timeout", o.timeout, "`DURATION` each request may take, answer included")
	fs.DurationVar(&o.maxWait, "max-wait", o.maxWait, "longest `DURATION` the API may ask to wait (Retry-After); a longer ask stops the run (exit 5)")
	fs.DurationVar(&o.deadline, "deadline", o.deadline, "`DURATION` the run may send for: then nothing more is sent and the rest is skipped (exit 5); 0: no limit")
	if o.offers&withReportDir != 0 {
		o.report.register(fs)
	}
	if o.offers&withPolicy != 0 {
		fs.StringVar(&o.policy, "hard-override", o.policy, "`POLICY` on 409: never (report a conflict), always (send again with hard_override), row (only rows whose hard_override column is true)")
	}
	if o.offers&withCache != 0 {
		configsFlag(fs, &o.configs, "")
	}
	if o.offers&withLedger != 0 {
		fs.StringVar(&o.stateDir, "state-dir", "", "`DIR` of the ledger that remembers what was sent, one file per tenant (default: $XDG_STATE_HOME/reconcile, else ~/.local/state/reconcile)")
		fs.StringVar(&o.ledgerURL, "ledger", o.ledgerURL, "`URL` of a ledger in PostgreSQL (postgres://USER:PASSWORD@HOST/DB) shared by any number of workers, none sending a row twice (default: $RECONCILE_LEDGER_URL, else the state dir's file)")
		fs.DurationVar(&o.claimTTL, "claim-ttl", o.claimTTL, "with --ledger, how long after its last heartbeat a worker that hangs loses its claims to others; keep it well above --timeout (0: 30s)")
		fs.Float64Var(&o.tenantRate, "tenant-rate", o.tenantRate, "at most `N` requests per second to the tenant from every worker together, retries included (0: no limit)")
	}
	if o.offers&withForce != 0 {
		fs.BoolVar(&o.force, "force", false, "send every valid row, also those the ledger says were accepted or refused unchanged before (their attempts are still recorded)")
	}
	if o.offers&withDryRun != 0 {
		fs.BoolVar(&o.dryRun, "dry-run", false, "validate and write the reports, send nothing (valid rows are skipped as \"dry run\")")
	}
}

// check says what is wrong with the flags' values, as a usage error.
func (o *sendOptions) check() error {
	if _, err := submit.ParseOverridePolicy(o.policy); err != nil {
		return usageError("--hard-override: %v", err)
	}
	switch {
	case o.concurrency < 1:
		return usageError("--concurrency must be 1 or more, got %d", o.concurrency)
	case o.rate < 0:
		return usageError("--rate must be 0 (no limit) or more, got %v", o.rate)
	case o.retries < 0:
		return usageError("--retries must be 0 or more, got %d", o.retries)
	case o.timeout <= 0:
		return usageError("--timeout must be positive, e.g. 30s, got %v", o.timeout)
	case o.maxWait <= 0:
		return usageError("--max-wait must be positive, e.g. 2m, got %v", o.maxWait)
	case o.deadline < 0:
		return usageError("--deadline must be 0 (no limit) or more, e.g. 2h, got %v", o.deadline)
	case o.claimTTL < 0:
		return usageError("--claim-ttl must be 0 (the default, 30s) or more, e.g. 2m, got %v", o.claimTTL)
	case o.tenantRate < 0:
		return usageError("--tenant-rate must be 0 (no limit) or more, got %v", o.tenantRate)
	}
	return checkLedgerURL(o.ledgerURL)
}

// checkLedgerURL says, as a usage error, what is wrong with a --ledger URL;
// the message never shows its password.
func checkLedgerURL(url string) error {
	if url == "" {
		return nil
	}
	scheme, _, isURL := strings.Cut(url, "://")
	if !isURL || scheme != "postgres" && scheme != "postgresql" {
		// The value is not shown: whatever it is, it may hold a password.
		return usageError("--ledger takes a PostgreSQL URL, postgres://USER:PASSWORD@HOST/DB: give one (or leave it out for the state directory's ledger file)")
	}
	return nil
}

// job checks the flags and builds the job they describe, reading files as
// in says: its submitter sends through client, or, when client is nil, the
// client that RETEN_BASE_URL and RETEN_API_KEY (or RETEN_API_KEY_FILE)
// describe. A dry run with a --configs cache needs no client at all.
func (o *sendOptions) job(env *environ, command string, client *api.Client, in *inputFlags) (*engine.Job, error) {
	if o.offers&withLedger != 0 && o.ledgerURL == "" {
		o.ledgerURL = env.getenv(ledgerURLVar)
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	imp, err := in.options()
	if err != nil {
		return nil, err
	}
	policy, _ := submit.ParseOverridePolicy(o.policy)
	if client == nil && (!o.dryRun || o.configs == "") {
		if client, err = clientFromEnv(env); err != nil {
			return nil, err
		}
	}
	if client != nil {
		client.Timeout = o.timeout
	}
	stateDir := o.stateDir
	if o.offers&withLedger != 0 && !o.dryRun && stateDir == "" {
		if stateDir, err = ledger.DefaultDir(env.getenv); err != nil {
			return nil, withCode(exitUsage, err)
		}
	}
	ropts, err := o.report.options(reports.Options{XLSX: true, Rejects: true, FailedExitCode: exitError})
	if err != nil {
		return nil, err
	}
	if env.getenv("GOMEMLIMIT") == "" {
		// The live heap is small and bounded by the concurrency, not the
		// input (docs/engine.md, "Memory"): a soft limit keeps the heap's
		// garbage from growing with a long run, where GOGC alone lets
		// the heap reach twice (at GOGC=400, five times) the live heap
		// before collecting. It is soft: a larger live heap is still
		// served, collected more often.
		debug.SetMemoryLimit(memoryLimit)
	}
	var deadline time.Time
	if o.deadline > 0 {
		deadline = time.Now().Add(o.deadline)
	}
	return &engine.Job{
		Command: command,
		Import:  imp,
		Submitter: &submit.Submitter{
			Client:      client,
			Concurrency: o.concurrency,
			Rate:        o.rate,
			Retries:     o.retries,
			MaxWait:     o.maxWait,
			Deadline:    deadline,
			Policy:      policy,
			DryRun:      o.dryRun,
		},
		ConfigsFile: o.configs,
		StateDir:    stateDir,
		LedgerURL:   o.ledgerURL,
		ClaimTTL:    o.claimTTL,
		TenantRate:  o.tenantRate,
		Force:       o.force,
		ReportDir:   o.report.dir,
		Reports:     ropts,
		Settings:    append(in.settings(), o.settings(in)...),
		ExitCode:    exitCode,
	}, nil
}

// settings are the sending flags the user set, as given, and the 409 policy
// in effect when it is not the default: a retry of the run reads it back.
func (o *sendOptions) settings(in *inputFlags) []reports.Setting {
	var s []reports.Setting
	policySet := false
	if o.fs != nil {
		inputs := in.values()
		o.fs.Visit(func(f *pflag.Flag) {
			if _, ok := inputs[f.Name]; ok {
				return // in.settings has them
			}
			if f.Name == "ledger" {
				return // the engine names it, without its password
			}
			s = append(s, reports.Setting{Name: f.Name, Value: f.Value.String()})
			policySet = policySet || f.Name == "hard-override"
		})
	}
	if !policySet && o.policy != string(submit.OverrideNever) {
		s = append(s, reports.Setting{Name: "hard-override", Value: o.policy})
	}
	return s
}
