package validate

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"sort"
	"strings"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
)

// Validator checks rows offline against a catalogue. It remembers the
// activities it has seen, so rows must be checked in input order, by one
// goroutine at a time (Check, or CheckAll, which uses a second one inside).
// What it remembers of the batch is bounded: SpillKeys activities of each
// kind in memory, the older ones in temporary files, plus 3 bytes an
// activity (see keySet). Close lets go of the files.
//
// The rules are the contract's: one of activity_id (a UUID) or
// provider_activity_id; commerce_external_id, occurred_at (a date), status
// (EFFECTIVE, NOT_EFFECTIVE, PENDING) and task_result.result (a code or label of
// the catalogue) present; contact_type INBOUND or OUTBOUND when given;
// future_scheduled_at present and in the future exactly when the result type
// requires it. A date given for a result type that does not require one is a
// problem too: it usually means the wrong result was picked, and sending it
// would store a reschedule nobody asked for.
//
// A later row about an activity that an earlier valid row of the batch already
// covers (same activity_id, or same provider_activity_id) comes back with
// DuplicateOf set, to be skipped. Invalid rows do not count as the first copy:
// they are never sent, so a corrected copy further down is.
type Validator struct {
	// ReuseRequests lets CheckAll fill the requests of the items it hands
	// to fn in memory it reuses once fn has seen the whole batch, as
	// csv.Reader's ReuseRecord does for records: an Item's Request then
	// holds only until fn returns. For callers that check and do not send,
	// as `reconcile validate` does: requests are the largest part of the
	// garbage of a large file. Check is not affected.
	ReuseRequests bool
	// SpillDir is where duplicate detection writes the activities it no
	// longer holds in memory: the run's spill.Dir. "" is os.TempDir().
	SpillDir string

	cat       *Catalogue
	now       func() time.Time
	codes     int                              // how many codes asWritten starts with
	folded    map[string]*api.ResultTypeConfig // folded code or label
	asWritten map[string]spelling              // codes, and results as users wrote them, so each spelling is folded once
	known     string                           // the codes, for messages

	// The activities of the valid rows so far, for duplicates: UUIDs in
	// ids, provider ids (as providerKey packs them) in providers.
	ids, providers *keySet
	places         places
	seed, seed2    maphash.Seed

	// reqs is the unused rest of a block of requests that inspect fills
	// and hands out to valid rows: one allocation per requestBlock rows
	// rather than one per row. Like asWritten, only the goroutine running
	// inspect touches it.
	reqs []api.SubmitRequest

	// recent caches lookupResult's latest answers by the spelling's length
	// and first byte; like asWritten, only inspect's goroutine touches it.
	recent [16]spelling

	// batchNow is the time CheckAll's goroutine read at the start of the
	// batch it is checking (zero outside CheckAll), for clock.
	batchNow time.Time
}

// clock is the time "in the future" is measured from: v.now(), read once
// per CheckAll batch rather than once per row. A batch takes about a
// millisecond to check, and reading the clock cost more than the rest of
// the rule on the machines measured (time.Now was 4% of CheckAll's CPU).
func (v *Validator) clock() time.Time {
	if !v.batchNow.IsZero() {
		return v.batchNow
	}
	return v.now()
}

// requestBlock is how many requests are allocated at once: about 60 KB, so a
// request kept for long (a row being retried) keeps little else alive.
const requestBlock = 256

// NewValidator returns a Validator for cat; now gives the clock ("in the future"
// rules), nil meaning time.Now.
func NewValidator(cat *Catalogue, now func() time.Time) *Validator {
	if now == nil {
		now = time.Now
	}
	v := &Validator{
		cat:       cat,
		now:       now,
		folded:    map[string]*api.ResultTypeConfig{},
		asWritten: map[string]spelling{},
		ids:       newKeySet(),
		providers: newKeySet(),
		seed:      maphash.MakeSeed(),
		seed2:     maphash.MakeSeed(),
	}
	var names []string
	if cat != nil {
		configs := make([]api.ResultTypeConfig, len(cat.Configs))
		copy(configs, cat.Configs)
		for i := range configs {
			c := &configs[i]
			v.asWritten[c.Code] = spelling{c.Code, c}
			names = append(names, fmt.Sprintf("%s (%s)", c.Code, c.Label))
		}
		// Codes first, so a label that happens to read like another code loses.
		for i := range configs {
			v.folded[importer.FoldLabel(configs[i].Code)] = &configs[i]
		}
		for i := range configs {
			if k := importer.FoldLabel(configs[i].Label); k != "" {
				if _, taken := v.folded[k]; !taken {
					v.folded[k] = &configs[i]
				}
			}
		}
		v.codes = len(v.asWritten)
	}
	if len(names) > 12 {
		names = append(names[:12], "...")
	}
	v.known = strings.Join(names, ", ")
	return v
}

// Check validates one row and returns it as an Item. Every problem of the row
// is listed, each naming the user's column.
func (v *Validator) Check(row importer.Row) Item {
	var it Item
	var keys activityKeys
	v.inspect(row, &it, &keys)
	if it.Request != nil {
		v.dedup(&it, &keys)
	}
	return it
}

// dedup sets it.DuplicateOf. When the temporary files of duplicate detection
// fail, it cannot tell, so it makes the row invalid with the reason (a row
// is never sent unless it is known not to be a duplicate) and returns it.
func (v *Validator) dedup(it *Item, keys *activityKeys) error {
	it.DuplicateOf = v.remember(it.Row.Pos, keys)
	err := v.ids.err
	if err == nil {
		err = v.providers.err
	}
	if err != nil {
		it.Request, it.DuplicateOf = nil, nil
		it.Problems = append(it.Problems, Problem{Message: err.Error()})
	}
	return err
}

// Close removes the temporary files duplicate detection may have written
// (they are unlinked at once where the system allows, so this only gives
// back their space sooner, and their descriptors). The Validator must not
// check rows after it.
func (v *Validator) Close() error {
	v.ids.close()
	v.providers.close()
	return nil
}

// activityKeys are what remember needs of a valid row, worked out with the
// rest of the row so that CheckAll can do it on its second goroutine.
type activityKeys struct {
	hasID, hasProvider   bool
	id, provider         [16]byte // the UUID's bytes; the provider id as providerKey packs it
	idHash, providerHash uint64
}

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
	add := func(f importer.Field, format string, args ...any) {
		ps = append(ps, Problem{Column: l.Header(f), Message: fmt.Sprintf(format, args...)})
		order = append(order, l.Column(f))
	}
	if row.Err != nil {
		ps = append(ps, Problem{Message: row.Err.Error()})
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
			add(f, "%v", err)
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
		ps = append(ps, Problem{Column: col, Message: "both activity ids are empty; fill in the Reten activity id or your provider_activity_id"})
		order = append(order, min(l.Column(importer.ActivityID), l.Column(importer.ProviderActivityID)))
	}
	var uuid [16]byte
	if aid.Text != "" && !bad[importer.ActivityID] {
		var ok bool
		if uuid, ok = uuidBytes(aid.Text); ok {
			req.ActivityID = aid.Text
		} else {
			add(importer.ActivityID, "%q is not a Reten activity id (a UUID such as 8a2da0ef-e94a-5f98-ad28-4741ec9a5245); put your own ids in provider_activity_id instead", aid.Text)
		}
	}
	req.ProviderActivityID = pid.Text

	if c := val(importer.CommerceExternalID); c.Text == "" && !bad[importer.CommerceExternalID] {
		add(importer.CommerceExternalID, "is empty; every result needs the commerce's external id")
	} else {
		req.CommerceExternalID = c.Text
	}

	if o := val(importer.OccurredAt); o.Text == "" && !bad[importer.OccurredAt] {
		add(importer.OccurredAt, "is empty; write when the activity was handled, e.g. 2026-04-11T10:30:00Z")
	} else if !bad[importer.OccurredAt] {
		req.OccurredAt = canonicalTime(o)
	}

	switch s := spanishEnum(val(importer.Status).Text); s {
	case api.StatusEffective, api.StatusNotEffective, api.StatusPending:
		req.Status = s
	case "":
		add(importer.Status, "is empty; use EFFECTIVE, NOT_EFFECTIVE or PENDING")
	default:
		add(importer.Status, "%q is not a status; use EFFECTIVE, NOT_EFFECTIVE or PENDING", s)
	}

	switch c := spanishEnum(val(importer.ContactType).Text); c {
	case "", api.ContactInbound, api.ContactOutbound:
		req.TaskResult.ContactType = c
	default:
		add(importer.ContactType, "%q is not a contact type; use INBOUND, OUTBOUND or leave it empty", c)
	}

	var cfg *api.ResultTypeConfig
	switch r := val(importer.Result).Text; {
	case r == "":
		add(importer.Result, "is empty; use one of %s", v.known)
	default:
		if c := v.lookupResult(r); c != nil {
			cfg = c
			req.TaskResult.Result = c.Code
		} else {
			add(importer.Result, "%q is not a result type of this tenant; use one of %s (or run `reconcile configs pull` if it was added lately)", r, v.known)
		}
	}

	future := val(importer.FutureScheduledAt)
	if cfg != nil && !bad[importer.FutureScheduledAt] {
		switch {
		case cfg.RequiresFutureScheduledAt && future.Text == "":
			add(importer.FutureScheduledAt, "is empty, but %s (%s) needs the date it is rescheduled to", cfg.Code, cfg.Label)
		case cfg.RequiresFutureScheduledAt && !future.Time.After(v.clock()):
			add(importer.FutureScheduledAt, "%s is not in the future; %s (%s) needs a date still to come", api.FormatTime(future.Time), cfg.Code, cfg.Label)
		case !cfg.RequiresFutureScheduledAt && future.Text != "":
			add(importer.FutureScheduledAt, "is set, but %s (%s) takes no reschedule date; clear the cell, or pick a result type that reschedules", cfg.Code, cfg.Label)
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

// canonicalTime is a date value as the API wants it. A cell already written
// that way (2026-04-11T10:30:00.000Z, as exports from programs usually are)
// is sent as it stands, with no new string; the cell parsed as that very
// instant, so formatting it again would give the same text.
func canonicalTime(v *importer.Value) string {
	if s := v.Text; len(s) == 24 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' &&
		s[16] == ':' && s[19] == '.' && s[23] == 'Z' && digits(s[:4]) && digits(s[5:7]) &&
		digits(s[8:10]) && digits(s[11:13]) && digits(s[14:16]) && digits(s[17:19]) && digits(s[20:23]) {
		return s
	}
	return formatTime(v.Time)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// formatTime is api.FormatTime (UTC, milliseconds, Z) without the layout
// interpretation, which showed in profiles of million-row files.
func formatTime(t time.Time) string {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	if y < 0 || y > 9999 {
		return api.FormatTime(t)
	}
	ms := t.Nanosecond() / 1e6
	var b [24]byte
	put := func(i, v, n int) {
		for j := i + n - 1; j >= i; j-- {
			b[j] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	b[4] = '-'
	put(5, int(mo), 2)
	b[7] = '-'
	put(8, d, 2)
	b[10] = 'T'
	put(11, h, 2)
	b[13] = ':'
	put(14, mi, 2)
	b[16] = ':'
	put(17, s, 2)
	b[19] = '.'
	put(20, ms, 3)
	b[23] = 'Z'
	return string(b[:])
}

// remember records the activity of a valid row and returns the position of
// an earlier row about the same activity, if there was one.
func (v *Validator) remember(pos importer.Position, k *activityKeys) *importer.Position {
	v.ids.dir, v.providers.dir = v.SpillDir, v.SpillDir // read when a set first spills
	var idSlot, pSlot int
	if k.hasID {
		first, found, slot := v.ids.lookup(&k.id, k.idHash)
		if found {
			p := v.places.position(first)
			return &p
		}
		idSlot = slot
	}
	if k.hasProvider {
		first, found, slot := v.providers.lookup(&k.provider, k.providerHash)
		if found {
			p := v.places.position(first)
			return &p
		}
		pSlot = slot
	}
	// Neither is known: remember both, at the slots just found (the two
	// sets are apart, so inserting into one leaves the other's slot valid).
	at := v.places.ref(pos)
	if k.hasID {
		v.ids.insert(&k.id, at, idSlot, k.idHash)
	}
	if k.hasProvider {
		v.providers.insert(&k.provider, at, pSlot, k.providerHash)
	}
	return nil
}

// providerKey packs a provider id into 16 bytes: as is when it fits (the
// last byte holds its length, 1-15, which tells "A" from "A\x00"), else as
// a 127-bit keyed hash whose last byte has its top bit set, so the two forms
// never meet. Hashed ids are not kept to confirm a match: with two maphash
// seeds a collision among a million long ids has odds of about 1 in 10^26,
// far below those of the machine flipping a bit in memory, and keeping
// every long id would cost its whole length per activity.
func (v *Validator) providerKey(id string) [16]byte {
	var k [16]byte
	if len(id) < len(k) {
		copy(k[:], id)
		k[15] = byte(len(id))
		return k
	}
	h1 := maphash.String(v.seed, id)
	h2 := maphash.String(v.seed2, id)
	for i := 0; i < 8; i++ {
		k[i] = byte(h1 >> (8 * i))
		k[8+i] = byte(h2 >> (8 * i))
	}
	k[15] |= 0x80
	return k
}

// isUUID reports whether s is written as a UUID (8-4-4-4-12 hex digits).
func isUUID(s string) bool {
	_, ok := uuidBytes(s)
	return ok
}

func uuidBytes(s string) ([16]byte, bool) {
	var b [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return b, false
	}
	// Every digit's value has 0x10 added (hexDigits), so one test at the end
	// tells whether all 32 were hex digits.
	all := byte(0x10)
	for j, i := range uuidDigits {
		hi, lo := hexDigits[s[i]], hexDigits[s[i+1]]
		all &= hi & lo
		b[j] = hi<<4 | lo&0x0f
	}
	return b, all != 0
}

// uuidDigits are where each byte's two hex digits start in 8-4-4-4-12 form.
var uuidDigits = [16]int{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// hexDigits holds each hex digit's value plus 0x10, and 0 for other bytes:
// one load per character, which showed in profiles of million-row files.
var hexDigits = func() (t [256]byte) {
	for c := 0; c < 256; c++ {
		switch {
		case '0' <= c && c <= '9':
			t[c] = byte(c-'0') | 0x10
		case 'a' <= c && c <= 'f':
			t[c] = byte(c-'a'+10) | 0x10
		case 'A' <= c && c <= 'F':
			t[c] = byte(c-'A'+10) | 0x10
		}
	}
	return t
}()

// Offline returns the outcome of an item that is not to be sent: invalid
// (with every problem) or skipped as a duplicate. ok is false for an item to send.
func (it *Item) Offline() (o outcome.Outcome, ok bool) {
	switch {
	case len(it.Problems) > 0 || it.Request == nil:
		msgs := make([]string, len(it.Problems))
		for i, p := range it.Problems {
			msgs[i] = p.String()
		}
		return outcome.Outcome{Row: it.Row, Class: outcome.ClassInvalid, Message: strings.Join(msgs, "; ")}, true
	case it.DuplicateOf != nil:
		return outcome.Outcome{Row: it.Row, Class: outcome.ClassSkipped, Message: fmt.Sprintf("same activity (%s) as %s, which is sent instead", it.Request.ActivityKey(), it.DuplicateOf)}, true
	}
	return outcome.Outcome{}, false
}
