package ledger

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"time"
)

// Records of format 4, written now, are binary and compact: the file must
// stay under 150 bytes an activity, and every byte of a record is also a
// byte of the process's memory while bbolt's pages of it are mapped. A log
// record is tagLog, the activity, then the attempt; an entry record is
// tagEntry, the number of attempts, then each attempt (the activity is the
// entry's key). An attempt is, in order:
//
//	seq                  uvarint
//	flags                one byte of flag* bits
//	hash                 32 raw bytes if flagHashRaw (a 64-hex PayloadHash), else a string
//	source               uvarint: a sources record (run, file, sheet), or 0 then the three strings
//	row                  varint
//	started              varint milliseconds since the source's base time (if flagStarted)
//	outcome, if flagOutcome:
//	  class              one byte (classCodes), or 0 then a string
//	  status             uvarint
//	  result id          16 raw bytes if flagResultRaw (a UUID), else a string
//	  message            string
//	  requests           uvarint
//	  finished           varint milliseconds since started (if flagFinished)
//
// Strings are a uvarint length and the bytes. Times keep the instant to the
// millisecond, read back in UTC (the ledger records UTC times; messages show
// minutes).
//
// Older records are still read: format 3 (tags 0x01 and 0x02: every field
// of every attempt spelt out, the run and the file repeated per row, the
// hash in hex, times to the nanosecond with their zone) and the JSON of
// formats 1 and 2, whose first byte '{' is never a tag.
const (
	tagAttempt3 byte = 0x01
	tagEntry3   byte = 0x02
	tagLog      byte = 0x03
	tagEntry    byte = 0x04
)

const (
	flagOverride byte = 1 << iota
	flagOutcome
	flagInDoubt
	flagHashRaw
	flagResultRaw
	flagStarted
	flagFinished
)

// classCodes are the one-byte codes of the outcome classes; 0 means the
// class follows as a string.
var classCodes = []string{1: "ok", 2: "overridden", 3: "rejected", 4: "conflict", 5: "failed", 6: "skipped", 7: "invalid"}

var errRecord = errors.New("truncated or malformed record")

// appendLog appends the log record of a to b.
func appendLog(b []byte, a *Attempt, st *sourceTable) []byte {
	b = slices.Grow(b, 2+len(a.Activity)+attemptSize(a))
	b = append(b, tagLog)
	b = appendString(b, a.Activity)
	return appendAttemptBody(b, a, st)
}

// appendEntry appends e's entry record to b.
func appendEntry(b []byte, e *Entry, st *sourceTable) []byte {
	n := 2
	for i := range e.Attempts {
		n += attemptSize(&e.Attempts[i])
	}
	b = slices.Grow(b, n)
	b = append(b, tagEntry)
	b = binary.AppendUvarint(b, uint64(len(e.Attempts)))
	for i := range e.Attempts {
		b = appendAttemptBody(b, &e.Attempts[i], st)
	}
	return b
}

// attemptSize is a bound on the length of a's body, so that a record is
// encoded in one allocation.
func attemptSize(a *Attempt) int {
	n := 10 + 1 + 5 + len(a.Hash) + 3*5 + len(a.Run) + len(a.File) + len(a.Sheet) + 10 + 10
	if o := a.Outcome; o != nil {
		n += 1 + 5 + len(o.Class) + 10 + 5 + len(o.ResultID) + 5 + len(o.Message) + 10 + 10
	}
	return n
}

func appendAttemptBody(b []byte, a *Attempt, st *sourceTable) []byte {
	o := a.Outcome
	hash, hashRaw := hexHash(a.Hash)
	var result [16]byte
	resultRaw := false
	flags := byte(0)
	if a.Override {
		flags |= flagOverride
	}
	if hashRaw {
		flags |= flagHashRaw
	}
	if !a.Started.IsZero() {
		flags |= flagStarted
	}
	if o != nil {
		flags |= flagOutcome
		if o.InDoubt {
			flags |= flagInDoubt
		}
		if result, resultRaw = parseUUID(o.ResultID); resultRaw {
			flags |= flagResultRaw
		}
		if !o.Finished.IsZero() {
			flags |= flagFinished
		}
	}
	b = binary.AppendUvarint(b, a.Seq)
	b = append(b, flags)
	if hashRaw {
		b = append(b, hash[:]...)
	} else {
		b = appendString(b, a.Hash)
	}
	id, base := st.find(source{a.Run, a.File, a.Sheet})
	b = binary.AppendUvarint(b, id)
	if id == 0 {
		b = appendString(b, a.Run)
		b = appendString(b, a.File)
		b = appendString(b, a.Sheet)
	}
	b = binary.AppendVarint(b, int64(a.Row))
	started := base
	if !a.Started.IsZero() {
		started = a.Started.UnixMilli()
		b = binary.AppendVarint(b, started-base)
	}
	if o == nil {
		return b
	}
	b = appendClass(b, o.Class)
	b = binary.AppendUvarint(b, uint64(max(o.Status, 0)))
	if resultRaw {
		b = append(b, result[:]...)
	} else {
		b = appendString(b, o.ResultID)
	}
	b = appendString(b, o.Message)
	b = binary.AppendUvarint(b, uint64(max(o.Requests, 0)))
	if !o.Finished.IsZero() {
		b = binary.AppendVarint(b, o.Finished.UnixMilli()-started)
	}
	return b
}

func appendClass(b []byte, class string) []byte {
	if i := slices.Index(classCodes, class); i > 0 {
		return append(b, byte(i))
	}
	return appendString(append(b, 0), class)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// hexHash is h as 32 bytes, if it is a PayloadHash: 64 lower-case hex
// digits (anything else is kept as it is, so that it reads back the same).
func hexHash(h string) (raw [32]byte, ok bool) {
	if len(h) != 64 || !isLowerHex(h) {
		return raw, false
	}
	hex.Decode(raw[:], []byte(h))
	return raw, true
}

// parseUUID is s as 16 bytes, if it is a UUID in its canonical lower-case
// form (8-4-4-4-12 hex digits), the form the API gives ids in.
func parseUUID(s string) (raw [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return raw, false
	}
	digits := s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if !isLowerHex(digits) {
		return raw, false
	}
	hex.Decode(raw[:], []byte(digits))
	return raw, true
}

func formatUUID(raw []byte) string {
	h := hex.EncodeToString(raw)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// decodeLog reads a log record of any format.
func decodeLog(v []byte, a *Attempt, st *sourceTable) error {
	if len(v) > 0 {
		switch v[0] {
		case tagLog:
			d := decoder{b: v[1:], st: st}
			activity := d.string()
			d.attempt(a, activity)
			return d.done()
		case tagAttempt3:
			d := decoder{b: v[1:]}
			d.attempt3(a)
			return d.done()
		}
	}
	*a = Attempt{}
	return json.Unmarshal(v, a)
}

// decodeEntry reads the entry record of activity, of any format. Records
// of formats 1 to 3 name their activity, which e.Activity then holds: under
// a key of format 4 it may be another's (entryKey).
func decodeEntry(v []byte, activity string, e *Entry, st *sourceTable) error {
	*e = Entry{Activity: activity}
	if len(v) == 0 || (v[0] != tagEntry && v[0] != tagEntry3) {
		return json.Unmarshal(v, e)
	}
	d := decoder{b: v[1:], st: st}
	if v[0] == tagEntry3 {
		e.Activity = d.string()
	}
	n := d.uvarint()
	if n > uint64(len(d.b)) { // every attempt takes more than a byte
		return errRecord
	}
	e.Attempts = make([]Attempt, n)
	for i := range e.Attempts {
		if v[0] == tagEntry3 {
			d.attempt3(&e.Attempts[i])
		} else {
			d.attempt(&e.Attempts[i], e.Activity)
		}
	}
	return d.done()
}

// decoder reads a binary record; the first error sticks and later reads
// return zero values.
type decoder struct {
	b   []byte
	st  *sourceTable
	err error
}

func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errRecord
	}
	return d.err
}

// attempt reads an attempt of format 4.
func (d *decoder) attempt(a *Attempt, activity string) {
	*a = Attempt{Activity: activity}
	a.Seq = d.uvarint()
	flags := d.byte()
	if flags >= flagFinished<<1 {
		d.fail()
		return
	}
	if flags&flagHashRaw != 0 {
		a.Hash = hex.EncodeToString(d.bytes(32))
	} else {
		a.Hash = d.string()
	}
	var base int64
	if id := d.uvarint(); id == 0 {
		a.Run, a.File, a.Sheet = d.string(), d.string(), d.string()
	} else if s, ok := d.st.get(id); ok {
		a.Run, a.File, a.Sheet, base = s.run, s.file, s.sheet, s.base
	} else {
		d.fail()
	}
	a.Row = d.int()
	a.Override = flags&flagOverride != 0
	started := base
	if flags&flagStarted != 0 {
		started += d.varint()
		a.Started = time.UnixMilli(started).UTC()
	}
	if flags&flagOutcome == 0 {
		return
	}
	o := &Outcome{}
	if c := d.byte(); c == 0 {
		o.Class = d.string()
	} else if int(c) < len(classCodes) {
		o.Class = classCodes[c]
	} else {
		d.fail()
	}
	o.Status = int(d.uvarint())
	if flags&flagResultRaw != 0 {
		if raw := d.bytes(16); d.err == nil {
			o.ResultID = formatUUID(raw)
		}
	} else {
		o.ResultID = d.string()
	}
	o.Message = d.string()
	o.Requests = int(d.uvarint())
	o.InDoubt = flags&flagInDoubt != 0
	if flags&flagFinished != 0 {
		o.Finished = time.UnixMilli(started + d.varint()).UTC()
	}
	if d.err == nil {
		a.Outcome = o
	}
}

// attempt3 reads an attempt of format 3.
func (d *decoder) attempt3(a *Attempt) {
	*a = Attempt{}
	a.Seq = d.uvarint()
	a.Activity = d.string()
	a.Hash = d.string()
	a.Override = d.bool()
	a.Run = d.string()
	a.File = d.string()
	a.Sheet = d.string()
	a.Row = d.int()
	a.Started = d.time3()
	if !d.bool() {
		return
	}
	o := &Outcome{}
	o.Class = d.string()
	o.Status = d.int()
	o.ResultID = d.string()
	o.Message = d.string()
	o.Requests = d.int()
	o.InDoubt = d.bool()
	o.Finished = d.time3()
	if d.err == nil {
		a.Outcome = o
	}
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errRecord
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int {
	v := d.varint()
	if v < math.MinInt || v > math.MaxInt {
		d.fail()
		return 0
	}
	return int(v)
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail()
	return false
}

// bytes returns the next n bytes; they alias the record.
func (d *decoder) bytes(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// string copies: a record read in a bbolt transaction is only valid inside it.
func (d *decoder) string() string {
	return string(d.bytes(d.uvarint()))
}

// time3 reads a time of format 3: a length byte, then time.Time's binary form.
func (d *decoder) time3() time.Time {
	raw := d.bytes(uint64(d.byte()))
	if d.err != nil {
		return time.Time{}
	}
	var t time.Time
	if err := t.UnmarshalBinary(raw); err != nil {
		d.fail()
	}
	return t
}
