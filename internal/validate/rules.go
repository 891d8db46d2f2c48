package validate

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
)

// inspect applies every rule to row but the duplicate one, which needs the
// rows before it, into it and keys (in place: CheckAll fills its batches
// without copying an Item a row). It only reads v (but for lookupResult's cache), so it may
// run on another goroutine than remember.
func (v *Validator) inspect(row importer.Row, it *Item, keys *activityKeys) {
	*it = Item{Row: row}
	*keys = activityKeys{}
	l := row.Layout
	// Problems are listed in the order of the user's columns; order holds
	// each one's column index (-1 for the row as a whole).
	var ps []Problem
	var order []int
	add := func(f importer.Field, code outcome.Code, format string, args ...any) {
		ps = append(ps, Problem{Column: l.Header(f), Code: code, Message: fmt.Sprintf(format, args...)})
		order = append(order, l.Column(f))
	}
	if row.Err != nil {
		ps = append(ps, Problem{Code: outcome.CodeBadRow, Message: row.Err.Error()})
		order = append(order, -1)
		var broken *importer.RecordError
		if blankRow(row.Cells) || errors.As(row.Err, &broken) {
			// The row could not be split into cells (its cells are only a
			// guess at what the user meant), or not read at all: a problem
			// for each column would only hide the one that matters.
			it.Problems = ps
			return
		}
	}
	// A cell that could not be read as its type is reported once, here; the
	// rules below only look at cells that were read.
	var vals [importer.NumFields]importer.Value
	var bad [importer.NumFields]bool
	row.Values(&vals)
	for f := importer.Field(0); int(f) < importer.NumFields; f++ {
		if err := vals[f].Err; err != nil {
			bad[f] = true
			add(f, valueCode(f, err), "%v", err)
		}
	}
	val := func(f importer.Field) *importer.Value { return &vals[f] }
	// Filled in place, in the next free slot of the block of requests; the
	// slot goes to the row only if it is valid, else it is cleared for the
	// next row.
	req := v.requestSlot()

	aid, pid := val(importer.ActivityID), val(importer.ProviderActivityID)
	switch {
	case aid.Text == "" && pid.Text == "" && !bad[importer.ActivityID] && !bad[importer.ProviderActivityID]:
		col := l.Header(importer.ActivityID)
		if l.Column(importer.ActivityID) < 0 {
			col = l.Header(importer.ProviderActivityID)
		} else if l.Column(importer.ProviderActivityID) >= 0 {
			col += " / " + l.Header(importer.ProviderActivityID)
		}
		ps = append(ps, Problem{Column: col, Code: outcome.CodeMissingField, Message: "both activity ids are empty; fill in the Reten activity id or your provider_activity_id"})
		order = append(order, min(l.Column(importer.ActivityID), l.Column(importer.ProviderActivityID)))
	}
	var uuid [16]byte
	if aid.Text != "" && !bad[importer.ActivityID] {
		var ok bool
		if uuid, ok = uuidBytes(aid.Text); ok {
			req.ActivityID = aid.Text
		} else {
			add(importer.ActivityID, outcome.CodeNotUUID, "%q is not a Reten activity id (a UUID such as 8a2da0ef-e94a-5f98-ad28-4741ec9a5245); put your own ids in provider_activity_id instead", aid.Text)
		}
	}
	req.ProviderActivityID = pid.Text

	if c := val(importer.CommerceExternalID); c.Text == "" && !bad[importer.CommerceExternalID] {
		add(importer.CommerceExternalID, outcome.CodeMissingField, "is empty; every result needs the commerce's external id")
	} else {
		req.CommerceExternalID = c.Text
	}

	if o := val(importer.OccurredAt); o.Text == "" && !bad[importer.OccurredAt] {
		add(importer.OccurredAt, outcome.CodeMissingField, "is empty; write when the activity was handled, e.g. 2026-04-11T10:30:00Z")
	} else if !bad[importer.OccurredAt] {
		req.OccurredAt = canonicalTime(o)
	}

	switch s := spanishEnum(val(importer.Status).Text); s {
	case api.StatusEffective, api.StatusNotEffective, api.StatusPending:
		req.Status = s
	case "":
		add(importer.Status, outcome.CodeMissingField, "is empty; use EFFECTIVE, NOT_EFFECTIVE or PENDING")
	default:
		add(importer.Status, outcome.CodeBadStatus, "%q is not a status; use EFFECTIVE, NOT_EFFECTIVE or PENDING", s)
	}

	switch c := spanishEnum(val(importer.ContactType).Text); c {
	case "", api.ContactInbound, api.ContactOutbound:
		req.TaskResult.ContactType = c
	default:
		add(importer.ContactType, outcome.CodeBadContactType, "%q is not a contact type; use INBOUND, OUTBOUND or leave it empty", c)
	}

	var cfg *api.ResultTypeConfig
	switch r := val(importer.Result).Text; {
	case r == "":
		add(importer.Result, outcome.CodeMissingField, "is empty; use one of %s", v.known)
	default:
		if c := v.lookupResult(r); c != nil {
			cfg = c
			req.TaskResult.Result = c.Code
		} else {
			add(importer.Result, outcome.CodeUnknownResult, "%q is not a result type of this tenant; use one of %s (or run `reconcile configs pull` if it was added lately)", r, v.known)
		}
	}

	future := val(importer.FutureScheduledAt)
	if cfg != nil && !bad[importer.FutureScheduledAt] {
		switch {
		case cfg.RequiresFutureScheduledAt && future.Text == "":
			add(importer.FutureScheduledAt, outcome.CodeFutureRequired, "is empty, but %s (%s) needs the date it is rescheduled to", cfg.Code, cfg.Label)
		case cfg.RequiresFutureScheduledAt && !future.Time.After(v.clock()):
			add(importer.FutureScheduledAt, outcome.CodeNotFuture, "%s is not in the future; %s (%s) needs a date still to come", api.FormatTime(future.Time), cfg.Code, cfg.Label)
		case !cfg.RequiresFutureScheduledAt && future.Text != "":
			add(importer.FutureScheduledAt, outcome.CodeFutureNotAllowed, "is set, but %s (%s) takes no reschedule date; clear the cell, or pick a result type that reschedules", cfg.Code, cfg.Label)
		case future.Text != "":
			req.TaskResult.FutureScheduledAt = canonicalTime(future)
		}
	}

	req.ExternalStatus = val(importer.ExternalStatus).Text
	req.TaskResult.Comment = val(importer.Comment).Text
	req.TaskResult.OperatorExternalID = val(importer.OperatorExternalID).Text
	if p := val(importer.RawPayload); p.Text != "" && !bad[importer.RawPayload] {
		req.RawPayload = json.RawMessage(p.Text)
	}
	if p := val(importer.Payload); p.Text != "" && !bad[importer.Payload] {
		req.TaskResult.Payload = json.RawMessage(p.Text)
	}
	if o := val(importer.HardOverride); !bad[importer.HardOverride] {
		it.Override = o.Bool
		req.HardOverride = o.Bool
	}

	if len(ps) > 0 {
		*req = api.SubmitRequest{}
		sort.Stable(byColumn{ps, order})
		it.Problems = ps
		return
	}
	v.reqs = v.reqs[1:]
	it.Request = req
	*keys = activityKeys{hasID: req.ActivityID != "", hasProvider: req.ProviderActivityID != "", id: uuid}
	if keys.hasID {
		keys.idHash = v.ids.hash(&keys.id)
	}
	if keys.hasProvider {
		keys.provider = v.providerKey(req.ProviderActivityID)
		keys.providerHash = v.providers.hash(&keys.provider)
	}
}

// requestSlot returns the next free request of the current block, zero.
func (v *Validator) requestSlot() *api.SubmitRequest {
	if len(v.reqs) == 0 {
		v.reqs = make([]api.SubmitRequest, requestBlock)
	}
	return &v.reqs[0]
}

func blankRow(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// spanishEnums are the contract's enum values as Spanish back offices write
// them (already upper case, spaces as _). Each has one meaning, so nothing is
// guessed.
var spanishEnums = map[string]string{
	"EFECTIVO": api.StatusEffective, "EFECTIVA": api.StatusEffective,
	"NO_EFECTIVO": api.StatusNotEffective, "NO_EFECTIVA": api.StatusNotEffective,
	"PENDIENTE": api.StatusPending,
	"ENTRANTE":  api.ContactInbound, "SALIENTE": api.ContactOutbound,
}

func spanishEnum(s string) string {
	switch s {
	case "", api.StatusEffective, api.StatusNotEffective, api.StatusPending, api.ContactInbound, api.ContactOutbound:
		return s // the contract's own words, most rows: no map lookup
	}
	if e, ok := spanishEnums[s]; ok {
		return e
	}
	return s
}

type byColumn struct {
	ps    []Problem
	order []int
}

func (b byColumn) Len() int           { return len(b.ps) }
func (b byColumn) Less(i, j int) bool { return b.order[i] < b.order[j] }
func (b byColumn) Swap(i, j int) {
	b.ps[i], b.ps[j] = b.ps[j], b.ps[i]
	b.order[i], b.order[j] = b.order[j], b.order[i]
}

// lookupResult finds a result type by code, or by code or label folded; nil
// when there is none.
func (v *Validator) lookupResult(s string) *api.ResultTypeConfig {
	// A file uses a handful of spellings, so most rows find theirs in a
	// small table of recent ones without hashing the string for the map.
	recent := &v.recent[(len(s)+int(s[0]))%len(v.recent)]
	if recent.c != nil && recent.s == s {
		return recent.c
	}
	w, ok := v.asWritten[s]
	if !ok {
		c, ok := v.folded[importer.FoldLabel(s)]
		if !ok {
			return nil
		}
		// A copy: the cell's text shares its memory with the rows read
		// around it, which the validator must not keep alive.
		w = spelling{strings.Clone(s), c}
		if len(v.asWritten) < v.codes+1024 { // a few spellings per label; bounded against odd files
			v.asWritten[w.s] = w
		}
	}
	*recent = w
	return w.c
}

// spelling is a result as written in a file, in memory of its own, and its
// result type.
type spelling struct {
	s string
	c *api.ResultTypeConfig
}
