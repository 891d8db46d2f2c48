// Package samples holds the demo tenant and the sample spreadsheets, embedded
// so that `reconcile demo` works from any directory, with an installed binary too.
package samples

import "embed"

// FS holds every file of this folder: tenant.json (the sandbox's demo tenant),
// the sample CSV and XLSX files, and their mapping files.
//
//go:embed *
var FS embed.FS
