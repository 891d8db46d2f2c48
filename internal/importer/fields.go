package importer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Field is a field of the submission contract that a column can hold.
type Field int

// The contract's fields. NoField marks a column that maps to none of them.
const (
	NoField Field = iota - 1
	ActivityID
	ProviderActivityID
	CommerceExternalID
	OccurredAt
	Status
	ExternalStatus
	HardOverride
	RawPayload
	Result
	Comment
	ContactType
	OperatorExternalID
	FutureScheduledAt
	Payload
	NumFields int = iota - 1
)

// fieldNames are the contract's names, as the API documents them; they are
// also the default column headers.
var fieldNames = [NumFields]string{
	ActivityID:         "activity_id",
	ProviderActivityID: "provider_activity_id",
	CommerceExternalID: "commerce_external_id",
	OccurredAt:         "occurred_at",
	Status:             "status",
	ExternalStatus:     "external_status",
	HardOverride:       "hard_override",
	RawPayload:         "raw_payload",
	Result:             "task_result.result",
	Comment:            "task_result.comment",
	ContactType:        "task_result.contact_type",
	OperatorExternalID: "task_result.operator_external_id",
	FutureScheduledAt:  "task_result.future_scheduled_at",
	Payload:            "task_result.payload",
}

// String returns the field's name in the contract, e.g. "task_result.result".
func (f Field) String() string {
	if f < 0 || int(f) >= NumFields {
		return "(no field)"
	}
	return fieldNames[f]
}

// ShortName is the name without the task_result. prefix, e.g. "result".
func (f Field) ShortName() string {
	return strings.TrimPrefix(f.String(), "task_result.")
}

// ReasonColumnPrefix starts the names of the columns reconcile's reports add
// to rejects files (the reports package names them). A rejects file that a
// user fixed and uploads again still has them; the importer maps them to no
// field and lists them as no unknown column.
const ReasonColumnPrefix = "reconcile_"

// fieldKeys maps a folded header to its field: every field by its contract name,
// and the task_result fields also by their short name ("result", "comment").
var fieldKeys = func() map[string]Field {
	m := make(map[string]Field, 2*NumFields)
	for f := Field(0); int(f) < NumFields; f++ {
		m[foldHeader(f.String())] = f
		m[foldHeader(f.ShortName())] = f
	}
	return m
}()

// ParseField returns the field a contract name (full or short, in any case or
// punctuation) stands for.
func ParseField(name string) (Field, bool) {
	f, ok := fieldKeys[foldHeader(name)]
	return f, ok
}

// foldHeader reduces a header to the letters and digits that identify it:
// lower case, accents removed, spaces and punctuation dropped, so that
// "Fecha gestión", "fecha_gestion" and "FECHA-GESTION" are one header.
func foldHeader(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < utf8.RuneSelf {
			switch {
			case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
				b.WriteRune(r)
			case 'A' <= r && r <= 'Z':
				b.WriteRune(r + ('a' - 'A'))
			}
			continue
		}
		if base, ok := unaccent[r]; ok {
			r = base
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// foldText is foldHeader for values (result labels): it keeps single spaces
// between words so that "Venta  completada" and "venta completada" match but
// "Ventacompletada" does not.
func foldText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if base, ok := unaccent[r]; ok {
			r = base
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
		} else {
			space = true
		}
	}
	return b.String()
}

// FoldLabel folds a result label or code for comparison: case, accents and
// punctuation do not count, word breaks do ("Reprogramar visita" and
// "REPROGRAMAR_VISITA" are equal).
func FoldLabel(s string) string { return foldText(s) }

// unaccent maps the accented letters of the Latin alphabets back-office files
// use to their base letter. A table keeps the importer free of a Unicode
// normalisation pass on every header.
var unaccent = func() map[rune]rune {
	m := map[rune]rune{}
	groups := map[rune]string{
		'a': "áàâäãåāăą", 'A': "ÁÀÂÄÃÅĀĂĄ",
		'c': "çćč", 'C': "ÇĆČ",
		'e': "éèêëēėęě", 'E': "ÉÈÊËĒĖĘĚ",
		'i': "íìîïīį", 'I': "ÍÌÎÏĪĮ",
		'n': "ñń", 'N': "ÑŃ",
		'o': "óòôöõøō", 'O': "ÓÒÔÖÕØŌ",
		'u': "úùûüūů", 'U': "ÚÙÛÜŪŮ",
		'y': "ýÿ", 'Y': "ÝŸ",
		's': "šś", 'S': "ŠŚ",
		'z': "žźż", 'Z': "ŽŹŻ",
	}
	for base, accented := range groups {
		for _, r := range accented {
			m[r] = base
		}
	}
	return m
}()
