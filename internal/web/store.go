package web

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/reten/reconcile/internal/atomicfile"
)

// Where the console keeps its files, inside the state directory:
//
//	uploads/ID/upload.json   what was uploaded and how to read it
//	uploads/ID/input.csv     the file itself (input.xlsx for a workbook)
//	uploads/ID/rows          a workbook's records, read once (importer.OpenSaving)
//	uploads/ID/mapping.txt   the header mapping, in the CLI's --mapping format
//	uploads/ID/edits.json    cells corrected in the preview
//	uploads/ID/check/        the latest offline check (see check.go)
//	tenants/KEY/mapping.txt  the mapping last saved for the tenant
//	tenants/KEY/reading.json the date format and zone last used for it
//
// ID is generated; KEY is made from the API's base URL as the ledger names
// its files. No name the browser sends becomes part of a path.
const (
	uploadsDir  = "uploads"
	tenantsDir  = "tenants"
	uploadMeta  = "upload.json"
	rowsName    = "rows"
	mappingName = "mapping.txt"
	editsName   = "edits.json"
	readingName = "reading.json"
)

// upload is one uploaded file and what the person chose for it.
type upload struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"` // as the browser gave it: shown, never used as a path
	Size     int64     `json:"size"`
	Uploaded time.Time `json:"uploaded"`
	Stored   string    `json:"stored"` // the file's name in the upload's folder
	Read     reading   `json:"read"`
	// Mapped is set once the mapping page has written mapping.txt.
	Mapped bool `json:"mapped"`

	dir string
}

// reading is how the upload is read; the zero value detects everything.
type reading struct {
	Sheet      string `json:"sheet,omitempty"`
	Delimiter  string `json:"delimiter,omitempty"` // , ; | or tab
	Encoding   string `json:"encoding,omitempty"`
	HeaderRow  int    `json:"header_row,omitempty"` // 0: detected
	DateFormat string `json:"date_format,omitempty"`
	Timezone   string `json:"timezone,omitempty"` // "": UTC
}

// idLen is the length of an upload id: 16 random bytes in hex.
const idLen = 32

func newID() string {
	var b [idLen / 2]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validID reports whether s could be an id newID made: anything else in a
// URL is refused before it comes near the file system.
func validID(s string) bool {
	if len(s) != idLen {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// storedExt is the extension the stored file gets: the importer tells CSV
// from XLSX by content, and by extension only to name a misnamed file's
// trouble, so only names it knows are kept.
func storedExt(name string) string {
	switch ext := strings.ToLower(filepath.Ext(name)); ext {
	case ".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".ods":
		return ext
	}
	return ".dat"
}

// displayName is the browser's file name reduced to what is shown: the last
// element of a Windows or Unix path, without control characters, at most
// 200 characters.
func displayName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if r := []rune(name); len(r) > 200 {
		name = string(r[:200])
	}
	if name == "" || name == "." || name == ".." {
		name = "upload"
	}
	return name
}

// errTooLarge is returned by saveUpload for a file over the limit.
var errTooLarge = errors.New("file too large")

// saveUpload stores the content of one uploaded file under a new id. Nothing
// is kept of a file over max bytes.
func (s *Server) saveUpload(name string, content io.Reader, max int64) (*upload, error) {
	u := &upload{ID: newID(), Name: displayName(name), Uploaded: s.now()}
	u.Stored = "input" + storedExt(u.Name)
	u.dir = filepath.Join(s.opts.StateDir, uploadsDir, u.ID)
	if err := os.MkdirAll(u.dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(u.path(), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		os.RemoveAll(u.dir)
		return nil, err
	}
	n, err := io.Copy(f, io.LimitReader(content, max+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > max {
		err = errTooLarge
	}
	if err != nil {
		os.RemoveAll(u.dir)
		return nil, err
	}
	u.Size = n
	return u, u.save()
}

func (u *upload) path() string            { return filepath.Join(u.dir, u.Stored) }
func (u *upload) file(name string) string { return filepath.Join(u.dir, name) }

func (u *upload) save() error {
	return atomicfile.WriteJSON(u.file(uploadMeta), 0o600, u)
}

// loadUpload reads the upload with the given id; errNoUpload when there is none.
func (s *Server) loadUpload(id string) (*upload, error) {
	if !validID(id) {
		return nil, errNoUpload
	}
	dir := filepath.Join(s.opts.StateDir, uploadsDir, id)
	data, err := os.ReadFile(filepath.Join(dir, uploadMeta))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errNoUpload
	}
	if err != nil {
		return nil, err
	}
	u := &upload{}
	if err := json.Unmarshal(data, u); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v); upload the file again", filepath.Join(dir, uploadMeta), err)
	}
	if u.ID != id || filepath.Base(u.Stored) != u.Stored || u.Stored == "" {
		return nil, fmt.Errorf("%s does not describe upload %s; upload the file again", filepath.Join(dir, uploadMeta), id)
	}
	u.dir = dir
	return u, nil
}

var errNoUpload = errors.New("no such upload")

// recentUploads lists up to n uploads, newest first.
func (s *Server) recentUploads(n int) []*upload {
	entries, _ := os.ReadDir(filepath.Join(s.opts.StateDir, uploadsDir))
	var ups []*upload
	for _, e := range entries {
		if u, err := s.loadUpload(e.Name()); err == nil {
			ups = append(ups, u)
		}
	}
	sort.Slice(ups, func(i, j int) bool { return ups[i].Uploaded.After(ups[j].Uploaded) })
	if len(ups) > n {
		ups = ups[:n]
	}
	return ups
}

// loadEdits reads the upload's corrected cells.
func (u *upload) loadEdits() (map[int][]string, error) {
	data, err := os.ReadFile(u.file(editsName))
	if errors.Is(err, os.ErrNotExist) {
		return map[int][]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	edits := map[int][]string{}
	if err := json.Unmarshal(data, &edits); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v); delete it to drop the corrections", u.file(editsName), err)
	}
	return edits, nil
}

func (u *upload) saveEdits(edits map[int][]string) error {
	return atomicfile.WriteJSON(u.file(editsName), 0o600, edits)
}
