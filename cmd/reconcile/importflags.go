package main

import (
	"flag"
	"strings"
	"time"
	_ "time/tzdata" // --timezone works on machines without a zoneinfo database

	"github.com/reten/reconcile/importer"
	"github.com/reten/reconcile/reports"
)

// importFlags are the flags every command that reads input files shares (run,
// validate), defined once so they read the same everywhere.
type importFlags struct {
	mapping, delimiter, encoding, sheet, dateFormat, timezone string
}

// addImportFlags defines the importer's flags on fs.
func addImportFlags(fs *flag.FlagSet) *importFlags {
	f := &importFlags{}
	fs.StringVar(&f.mapping, "mapping", "", "`FILE` mapping your column headers to the contract's fields (default: the headers are the field names)")
	fs.StringVar(&f.delimiter, "delimiter", "", "CSV field separator: , ; tab or | (default: detected)")
	fs.StringVar(&f.encoding, "encoding", "", "CSV text encoding: utf-8, windows-1252, latin1 or utf-16 (default: detected)")
	fs.StringVar(&f.sheet, "sheet", "", "XLSX sheet to read (default: the first)")
	fs.StringVar(&f.dateFormat, "date-format", "", "`LAYOUT` of dates that are not ISO 8601, in Go's notation, e.g. 02/01/2006 15:04 for dd/mm/yyyy hh:mm")
	fs.StringVar(&f.timezone, "timezone", "", "`ZONE` of dates written without one, e.g. America/Santiago (default: UTC)")
	return f
}

// options turns the flags into importer options, or a usage error that says
// which flag is wrong and what it takes.
func (f *importFlags) options() (importer.Options, error) {
	opts := importer.Options{
		Encoding:    f.encoding,
		Sheet:       f.sheet,
		MappingFile: f.mapping,
		DateFormat:  f.dateFormat,
	}
	switch d := f.delimiter; strings.ToLower(d) {
	case "":
	case "tab", `\t`, "\t":
		opts.Delimiter = '\t'
	case ",", ";", "|":
		opts.Delimiter = rune(d[0])
	case "comma":
		opts.Delimiter = ','
	case "semicolon":
		opts.Delimiter = ';'
	case "pipe":
		opts.Delimiter = '|'
	default:
		return opts, usageError("--delimiter %q: use one of , ; tab |", d)
	}
	if f.timezone != "" {
		loc, err := time.LoadLocation(f.timezone)
		if err != nil {
			return opts, usageError("--timezone %q is not a time zone: use a name like America/Santiago or Europe/Madrid, or UTC", f.timezone)
		}
		opts.Location = loc
	}
	return opts, nil
}

// settings lists the flags that were set, for the reports' summary.
func (f *importFlags) settings() []reports.Setting {
	var out []reports.Setting
	for _, s := range []reports.Setting{
		{Name: "mapping", Value: f.mapping}, {Name: "delimiter", Value: f.delimiter},
		{Name: "encoding", Value: f.encoding}, {Name: "sheet", Value: f.sheet},
		{Name: "date-format", Value: f.dateFormat}, {Name: "timezone", Value: f.timezone},
	} {
		if s.Value != "" {
			out = append(out, s)
		}
	}
	return out
}
