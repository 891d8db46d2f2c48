// Package samples holds the demo tenant and the sample spreadsheets, embedded
// so that `reconcile demo` works from any directory, with an installed binary too.
package samples

import "embed"

// FS holds tenant.json (the sandbox's demo tenant), the sample CSV and XLSX
// files, and the mapping of the Spanish ones.
//
//go:embed tenant.json mapping-es.txt *.csv *.xlsx
var FS embed.FS
