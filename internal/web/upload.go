package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/reten/reconcile/internal/spill"

	"github.com/reten/reconcile/internal/importer"
)

func (s *Server) handleUploadPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "upload", view{Title: "Upload a file", Step: "upload", Data: uploadPage{
		MaxUpload:  s.opts.MaxUpload,
		MaxText:    sizeText(s.opts.MaxUpload),
		Recent:     s.recentUploads(10),
		HasMapping: s.tenantMapping() != nil,
	}})
}

type uploadPage struct {
	MaxUpload  int64
	MaxText    string
	Recent     []*upload
	HasMapping bool
}

// handleUpload stores one file from a multipart form, streaming it to disk:
// the form's csrf field must come before the file (browsers send fields in
// page order), or the X-CSRF-Token header be set.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	sess := sessionFrom(r.Context())
	max := s.opts.MaxUpload
	// The whole request is bounded too: the form's other fields and the
	// multipart framing get a little room beside the file.
	r.Body = http.MaxBytesReader(w, r.Body, max+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "No file received", "Choose a CSV or XLSX file on the upload page and send it with the Upload button.")
		return
	}
	tokOK := false
	if t := r.Header.Get(csrfHeader); t != "" {
		tokOK = equalSecret(t, sess.csrf)
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			s.fail(w, r, http.StatusBadRequest, "No file received", "The form held no file. Choose a CSV or XLSX file and upload it again.")
			return
		}
		if err != nil {
			s.uploadFailed(w, r, err)
			return
		}
		switch p.FormName() {
		case csrfField:
			b, _ := io.ReadAll(io.LimitReader(p, 256))
			tokOK = equalSecret(string(b), sess.csrf)
		case "file":
			if !tokOK {
				s.fail(w, r, http.StatusForbidden, "Request refused", "The form had expired or came from another site. Reload the upload page and try again.")
				return
			}
			if p.FileName() == "" {
				s.fail(w, r, http.StatusBadRequest, "No file chosen", "Choose a CSV or XLSX file, then press Upload.")
				return
			}
			u, err := s.saveUpload(p.FileName(), p, max)
			if err != nil {
				s.uploadFailed(w, r, err)
				return
			}
			s.detect(u)
			http.Redirect(w, r, "/uploads/"+u.ID, http.StatusSeeOther)
			return
		}
		p.Close()
	}
}

// Upload stores content as an upload named name, as if a browser had sent
// it, and returns its id: the demo puts the shipped samples in the console
// this way.
func (s *Server) Upload(name string, content io.Reader) (string, error) {
	u, err := s.saveUpload(name, content, s.opts.MaxUpload)
	if err != nil {
		return "", err
	}
	s.detect(u)
	return u.ID, nil
}

func (s *Server) uploadFailed(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.Is(err, errTooLarge) || errors.As(err, &mbe) {
		s.fail(w, r, http.StatusRequestEntityTooLarge, "File too large",
			fmt.Sprintf("The file is larger than %s, the most this console accepts. Split it into smaller files (a CSV is also much smaller than the same sheet as XLSX), or ask whoever runs the console to raise --max-upload.", sizeText(s.opts.MaxUpload)))
		return
	}
	s.failErr(w, r, fmt.Errorf("the upload did not arrive whole (%v); try again", err))
}

// detect fills a new upload's reading with the tenant's date settings and
// what the file itself shows (see dateHint).
func (s *Server) detect(u *upload) {
	u.Read = s.tenantReading()
	if sm, err := s.peek(u); err == nil && u.Read.DateFormat == "" {
		h := headerIndex(sm, u.Read.HeaderRow, s.tenantMapping())
		if hint := dateHint(sm, h, s.tenantMapping()); hint.Layout != "" {
			u.Read.DateFormat = hint.Layout
		}
	}
	if err := u.save(); err != nil {
		s.opts.Logger.Error("web: saving an upload", "id", u.ID, "err", err)
	}
}

// peekRows is how many rows the settings and mapping pages read: enough to
// show the top of the file, find its header and sample each column.
const peekRows = 200

func (s *Server) peek(u *upload) (*importer.Sample, error) {
	opts, err := u.Read.options()
	if err != nil {
		return nil, err
	}
	opts.SpillDir = spill.Dir(s.opts.StateDir)
	sm, err := importer.Peek(u.path(), opts, peekRows)
	if err != nil {
		return nil, Input{Path: u.path(), Name: u.Name}.named(err)
	}
	return sm, nil
}

// options turns the reading into the importer's options.
func (rd reading) options() (importer.Options, error) {
	opts := importer.Options{Sheet: rd.Sheet, Encoding: rd.Encoding, DateFormat: rd.DateFormat}
	switch rd.Delimiter {
	case "":
	case "tab":
		opts.Delimiter = '\t'
	case ",", ";", "|":
		opts.Delimiter = rune(rd.Delimiter[0])
	default:
		return opts, fmt.Errorf("%q cannot separate fields; choose , ; | or tab", rd.Delimiter)
	}
	loc, err := time.LoadLocation(rd.zone())
	if err != nil {
		return opts, fmt.Errorf("%q is not a time zone; write an IANA name such as America/Santiago, or UTC", rd.Timezone)
	}
	opts.Location = loc
	return opts, nil
}

func (rd reading) zone() string {
	if rd.Timezone == "" {
		return "UTC"
	}
	return rd.Timezone
}

// input is the upload as a run or a check reads it. A workbook is read
// from its row store once the first check has saved it (Input.Open), so
// that it costs its seconds of unzipping and parsing once, not at every
// correction and run; another sheet drops the store (dropCheck), while
// the header row, mapping and dates are applied as the store is read.
func (u *upload) input() Input {
	opts, _ := u.Read.options()
	if u.Mapped {
		opts.MappingFile = u.file(mappingName)
	}
	opts.Name = u.Name
	in := Input{Path: u.path(), Name: u.Name, Options: opts, store: u.file(rowsName)}
	if _, err := os.Stat(in.store); err == nil {
		in.Path = in.store
	}
	return in
}

// named puts the user's file name where the importer's message has the
// stored file's path.
func (in Input) named(err error) error {
	return &namedError{msg: strings.ReplaceAll(err.Error(), in.Path, in.Name), err: err}
}

type namedError struct {
	msg string
	err error
}

func (e *namedError) Error() string { return e.msg }
func (e *namedError) Unwrap() error { return e.err }

// sizeText writes a byte count as people read it: 50 MB, 1.5 MB, 900 KB.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		if n%(1<<20) == 0 {
			return fmt.Sprintf("%d MB", n>>20)
		}
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
