package web

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/reten/reconcile/internal/atomicfile"
	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/ledger"
)

// tenantKey names the tenant's folder as the ledger names its file: the
// API's host and a short hash of its base URL, so staging and production
// keep mappings apart.
func tenantKey(baseURL string) string {
	if baseURL == "" {
		return "default"
	}
	p, err := ledger.Path("", baseURL)
	if err != nil {
		return "default"
	}
	return strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
}

func (s *Server) tenantFile(name string) string {
	return filepath.Join(s.opts.StateDir, tenantsDir, s.tenant, name)
}

// tenantMapping is the mapping last saved for the tenant, nil when none is.
func (s *Server) tenantMapping() *importer.Mapping {
	m, err := importer.LoadMapping(s.tenantFile(mappingName))
	if err != nil {
		return nil
	}
	return m
}

// tenantReading is how the tenant's last file was read: its date format and
// time zone are the next upload's first guess.
func (s *Server) tenantReading() reading {
	var rd reading
	data, err := os.ReadFile(s.tenantFile(readingName))
	if err == nil {
		json.Unmarshal(data, &rd)
	}
	return reading{DateFormat: rd.DateFormat, Timezone: rd.Timezone}
}

func (s *Server) saveTenant(mapping []byte, rd reading) error {
	if err := os.MkdirAll(filepath.Dir(s.tenantFile(mappingName)), 0o700); err != nil {
		return err
	}
	return errors.Join(
		atomicfile.WriteJSON(s.tenantFile(readingName), 0o600, reading{DateFormat: rd.DateFormat, Timezone: rd.Timezone}),
		writeFile(s.tenantFile(mappingName), mapping))
}

// writeFile replaces path with data atomically.
func writeFile(path string, data []byte) error {
	return atomicfile.Write(path, 0o600, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
