package validate

import (
	"fmt"
	"hash/maphash"
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
		it.Problems = append(it.Problems, Problem{Code: outcome.CodeCheckFailed, Message: err.Error()})
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
