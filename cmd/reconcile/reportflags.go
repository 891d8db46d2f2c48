package main

import (
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/pflag"

	"github.com/reten/reconcile/internal/reports"
)

// reportFlags are the flags of every command that writes reports: where,
// how report.csv separates its fields, and what the command prints.
type reportFlags struct {
	dir, delimiter string
	out            outputFlags
}

func (f *reportFlags) register(fs *pflag.FlagSet) {
	f.out.register(fs)
	fs.StringVar(&f.dir, "report-dir", "", "`DIR` for the reports (default: a new reports-DATE folder here)")
	fs.StringVar(&f.delimiter, "report-delimiter", ",", "field `SEPARATOR` of report.csv: , ; | or tab (; opens in a Spanish Excel); rejects keep their input's")
}

// options is base with the report.csv delimiter the flag asks for.
func (f *reportFlags) options(base reports.Options) (reports.Options, error) {
	d, err := parseDelimiter("report-delimiter", f.delimiter)
	base.Delimiter = d
	return base, err
}

// parseDelimiter reads the value of a delimiter flag called name: "" (the
// default, 0), a character of , ; | or tab (as a tab, "tab" or `\t`).
func parseDelimiter(name, d string) (rune, error) {
	switch strings.ToLower(d) {
	case "":
		return 0, nil
	case "tab", `\t`, "\t":
		return '\t', nil
	case ",", ";", "|":
		return rune(d[0]), nil
	}
	return 0, usageError("--%s %q: use , ; | or tab", name, d)
}

// outputFlags say what a command that writes reports tells, and how: the
// summary as text or JSON on stdout, log lines as text or JSON on stderr,
// or nothing but errors.
type outputFlags struct {
	json, quiet bool
	logFormat   string
}

func (f *outputFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.json, "json", false, "print the summary as JSON on stdout (what summary.json holds), and nothing else there")
	fs.BoolVar(&f.quiet, "quiet", false, "print errors only: no progress, no warnings, no summary (--json still prints it)")
	fs.StringVar(&f.logFormat, "log-format", "text", "`FORMAT` of the log lines on stderr: text, or json (one slog JSON object a line, for log shippers)")
}

// apply checks the flags and sets what env's command writes through: stdout
// keeps only the JSON summary when asked for (the text a command prints
// there goes nowhere), and the progress and the error lines follow
// --log-format and --quiet.
func (f *outputFlags) apply(env *environ) error {
	switch f.logFormat {
	case "text", "":
	case "json":
		env.logJSON = true
	default:
		return usageError("--log-format %q: use text or json", f.logFormat)
	}
	env.quiet = f.quiet
	if f.json {
		env.summaryJSON = env.stdout
	}
	if f.json || f.quiet {
		env.stdout = io.Discard
	}
	return nil
}

// newLogger is the logger of a command's log lines on env's stderr, at
// level or, with --quiet, errors only.
func newLogger(env *environ, level slog.Level) *slog.Logger {
	if env.quiet {
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if env.logJSON {
		return slog.New(slog.NewJSONHandler(env.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(env.stderr, opts))
}
