package ledger

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"time"
)

// Records of format 3 are binary: a tag byte, then the fields in a fixed
// order, integers as varints, strings and times length-prefixed. They are
// about a third of the JSON of format 2 and several times cheaper to encode,
// which matters because every row writes its attempt twice (the intent, then
// with its outcome) and once more when it is folded. Records of format 2 are
// JSON objects, so their first byte is '{' and never a tag: both are read.
const (
	tagAttempt byte = 0x01
	tagEntry   byte = 0x02
)

var errRecord = errors.New("truncated or malformed record")

// appendAttempt appends a's binary record to b.
func appendAttempt(b []byte, a *Attempt) []byte {
	b = slices.Grow(b, attemptSize(a)+1)
	b = append(b, tagAttempt)
	return appendAttemptBody(b, a)
}

// attemptSize is a bound on the length of a's record body, so that it is
// encoded in one allocation.
func attemptSize(a *Attempt) int {
	n := 10 + 6*5 + 10 + 2*17 + 2 + len(a.Activity) + len(a.Hash) + len(a.Run) + len(a.File) + len(a.Sheet)
	if o := a.Outcome; o != nil {
		n += 4*10 + 2*5 + len(o.Class) + len(o.ResultID) + len(o.Message)
	}
	return n
}

func appendAttemptBody(b []byte, a *Attempt) []byte {
	b = binary.AppendUvarint(b, a.Seq)
	b = appendString(b, a.Activity)
	b = appendString(b, a.Hash)
	b = appendBool(b, a.Override)
	b = appendString(b, a.Run)
	b = appendString(b, a.File)
	b = appendString(b, a.Sheet)
	b = binary.AppendVarint(b, int64(a.Row))
	b = appendTime(b, a.Started)
	o := a.Outcome
	if o == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = appendString(b, o.Class)
	b = binary.AppendVarint(b, int64(o.Status))
	b = appendString(b, o.ResultID)
	b = appendString(b, o.Message)
	b = binary.AppendVarint(b, int64(o.Requests))
	b = appendBool(b, o.InDoubt)
	return appendTime(b, o.Finished)
}

// appendEntry appends e's binary record to b.
func appendEntry(b []byte, e *Entry) []byte {
	n := 1 + 10 + len(e.Activity) + 10
	for i := range e.Attempts {
		n += attemptSize(&e.Attempts[i])
	}
	b = slices.Grow(b, n)
	b = append(b, tagEntry)
	b = appendString(b, e.Activity)
	b = binary.AppendUvarint(b, uint64(len(e.Attempts)))
	for i := range e.Attempts {
		b = appendAttemptBody(b, &e.Attempts[i])
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendTime keeps what the JSON of format 2 kept: the instant to the
// nanosecond and the zone offset.
func appendTime(b []byte, t time.Time) []byte {
	n := len(b)
	b = append(b, 0)
	out, err := t.AppendBinary(b)
	if err != nil {
		// Only a zone offset that is not a whole minute fails: the instant
		// is kept, in UTC.
		out, _ = t.UTC().AppendBinary(b)
	}
	out[n] = byte(len(out) - n - 1)
	return out
}

// decodeAttempt reads an attempt record of either format.
func decodeAttempt(v []byte, a *Attempt) error {
	if len(v) > 0 && v[0] == tagAttempt {
		d := decoder{b: v[1:]}
		d.attempt(a)
		return d.done()
	}
	*a = Attempt{}
	return json.Unmarshal(v, a)
}

// decodeEntry reads an entry record of either format.
func decodeEntry(v []byte, e *Entry) error {
	if len(v) > 0 && v[0] == tagEntry {
		d := decoder{b: v[1:]}
		e.Activity = d.string()
		n := d.uvarint()
		if n > uint64(len(d.b)) { // every attempt takes more than a byte
			return errRecord
		}
		e.Attempts = make([]Attempt, n)
		for i := range e.Attempts {
			d.attempt(&e.Attempts[i])
		}
		return d.done()
	}
	return json.Unmarshal(v, e)
}

// decoder reads a binary record; the first error sticks and later reads
// return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errRecord
	}
	return d.err
}

func (d *decoder) attempt(a *Attempt) {
	*a = Attempt{}
	a.Seq = d.uvarint()
	a.Activity = d.string()
	a.Hash = d.string()
	a.Override = d.bool()
	a.Run = d.string()
	a.File = d.string()
	a.Sheet = d.string()
	a.Row = d.int()
	a.Started = d.time()
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
	o.Finished = d.time()
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

func (d *decoder) int() int {
	v, n := binary.Varint(d.b)
	if n <= 0 || v < math.MinInt || v > math.MaxInt {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

func (d *decoder) bool() bool {
	if len(d.b) == 0 || d.b[0] > 1 {
		d.fail()
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
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

func (d *decoder) time() time.Time {
	if len(d.b) == 0 {
		d.fail()
		return time.Time{}
	}
	n := uint64(d.b[0])
	d.b = d.b[1:]
	raw := d.bytes(n)
	if d.err != nil {
		return time.Time{}
	}
	var t time.Time
	if err := t.UnmarshalBinary(raw); err != nil {
		d.fail()
	}
	return t
}
