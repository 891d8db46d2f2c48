package main

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/reten/reconcile/internal/reports"
)

// reportFlags are the flags of every command that writes reports: where,
// and how report.csv separates its fields.
type reportFlags struct {
	dir, delimiter string
}

func (f *reportFlags) register(fs *pflag.FlagSet) {
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
