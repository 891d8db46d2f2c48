package importer

import (
	"sort"
	"strings"
)

// MatchSource says why a header was given a field.
type MatchSource int

// Sources of a suggestion, strongest first.
const (
	MatchNone    MatchSource = iota // no field fits
	MatchSaved                      // the tenant's saved mapping names this header
	MatchExact                      // the header is the contract's name for the field
	MatchAlias                      // the header is a known synonym, in Spanish or English
	MatchSimilar                    // the header is near a name or synonym (a typo, extra words)
)

func (s MatchSource) String() string {
	switch s {
	case MatchSaved:
		return "saved mapping"
	case MatchExact:
		return "exact name"
	case MatchAlias:
		return "known name"
	case MatchSimilar:
		return "similar name"
	}
	return "no match"
}

// Suggestion is the field proposed for one header of a file, and why.
type Suggestion struct {
	Header string
	Field  Field // NoField when nothing fits, or when Ignore is set
	// Ignore is set for a header the saved mapping drops, and for the
	// columns reconcile's own reports add (reconcile_error).
	Ignore bool
	Source MatchSource
	// Near is, for MatchSimilar, the name or synonym the header resembles.
	Near string
	// Score is 1 for saved and exact matches, a little less for synonyms,
	// and the similarity for near matches; 0 for none.
	Score float64
}

// aliases are the names back offices give each field, in Spanish and
// English, beside the contract's own. They are compared as keyWords makes
// them: folded, without articles and prepositions, in any order.
var aliases = map[Field][]string{
	ActivityID:         {"id actividad", "activity id", "actividad", "activity", "id reten", "reten id", "uuid actividad", "activity uuid"},
	ProviderActivityID: {"id proveedor", "provider id", "id externo", "external id", "id actividad proveedor", "provider activity", "referencia", "reference", "id origen", "source id"},
	CommerceExternalID: {"comercio", "commerce", "id comercio", "codigo comercio", "commerce id", "cliente", "id cliente", "customer", "customer id", "tienda", "store", "local", "merchant", "punto venta"},
	OccurredAt:         {"fecha gestion", "fecha", "fecha hora", "fecha visita", "fecha actividad", "fecha contacto", "date", "occurred", "handled at", "visit date", "activity date", "timestamp"},
	Status:             {"estado", "estatus", "state", "status gestion", "estado gestion"},
	ExternalStatus:     {"estado externo", "external status", "estado crm", "estado sistema", "crm status"},
	HardOverride:       {"forzar", "sobrescribir", "sobreescribir", "override", "force", "reemplazar"},
	RawPayload:         {"payload original", "datos originales", "raw", "raw data"},
	Result:             {"resultado", "resultado gestion", "tipo resultado", "result type", "outcome", "resultado visita", "disposition"},
	Comment:            {"comentario", "comentarios", "nota", "notas", "comments", "note", "notes", "remarks"},
	ContactType:        {"tipo contacto", "contact type", "tipo llamada", "call type", "direccion", "direction"},
	OperatorExternalID: {"operador", "operator", "id operador", "operator id", "vendedor", "agente", "agent", "ejecutivo", "seller", "salesman", "usuario", "user"},
	FutureScheduledAt:  {"fecha reprogramacion", "reprogramacion", "reprogramar para", "nueva fecha", "fecha nueva visita", "proxima visita", "fecha proxima visita", "reschedule date", "rescheduled at", "scheduled for", "next visit", "future date"},
	Payload:            {"datos", "datos adicionales", "data", "extra", "extra data", "additional data"},
}

// stopWords are left out of a header before it is compared, so that
// "Fecha de la gestión" is "Fecha gestión".
var stopWords = map[string]bool{
	"de": true, "del": true, "la": true, "el": true, "los": true, "las": true, "en": true, "y": true, "a": true, "por": true,
	"the": true, "of": true, "at": true, "and": true, "in": true, "for": true, "by": true,
}

type aliasKey struct {
	words []string // sorted
	key   string   // words joined, for edit distance
	name  string   // as written in aliases, or the contract's name
	field Field
	exact bool // the contract's name rather than a synonym
}

var aliasKeys = func() []aliasKey {
	var keys []aliasKey
	add := func(name string, f Field, exact bool) {
		w := keyWords(name)
		if len(w) == 0 {
			return
		}
		keys = append(keys, aliasKey{words: w, key: strings.Join(w, ""), name: name, field: f, exact: exact})
	}
	for f := Field(0); int(f) < NumFields; f++ {
		add(f.String(), f, true)
		add(f.ShortName(), f, true)
		for _, a := range aliases[f] {
			add(a, f, false)
		}
	}
	return keys
}()

// keyWords is a header as suggestions compare it: folded words, articles
// and prepositions left out, sorted.
func keyWords(s string) []string {
	var words []string
	for _, w := range strings.Fields(foldText(strings.ReplaceAll(s, "_", " "))) {
		if !stopWords[w] {
			words = append(words, w)
		}
	}
	sort.Strings(words)
	return words
}

// similarThreshold is the least similarity that makes a suggestion: one
// typo in a name of ten letters is 0.9, two are 0.8.
const similarThreshold = 0.75

// SuggestMapping proposes a field for each header, in the order given: the
// saved mapping's choice first, then the contract's names, the known
// synonyms and near matches. A field goes to one header at most, the one
// with the strongest match (the leftmost on a tie); the others get none.
// saved may be nil.
func SuggestMapping(headers []string, saved *Mapping) []Suggestion {
	out := make([]Suggestion, len(headers))
	for i, h := range headers {
		out[i] = suggestOne(h, saved)
	}
	order := make([]int, len(out))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return out[order[a]].Score > out[order[b]].Score })
	taken := map[Field]bool{}
	for _, i := range order {
		s := &out[i]
		if s.Field == NoField {
			continue
		}
		if taken[s.Field] {
			*s = Suggestion{Header: s.Header, Field: NoField}
			continue
		}
		taken[s.Field] = true
	}
	return out
}

func suggestOne(h string, saved *Mapping) Suggestion {
	s := Suggestion{Header: h, Field: NoField}
	if f, ignore, ok := saved.Lookup(h); ok {
		s.Field, s.Ignore, s.Source, s.Score = f, ignore, MatchSaved, 1
		return s
	}
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(h)), ReasonColumnPrefix) {
		s.Ignore = true
		return s
	}
	if f, ok := fieldKeys[foldHeader(h)]; ok {
		s.Field, s.Source, s.Score = f, MatchExact, 1
		return s
	}
	words := keyWords(h)
	if len(words) == 0 {
		return s
	}
	key := strings.Join(words, "")
	best := 0.0
	for i := range aliasKeys {
		a := &aliasKeys[i]
		if equalWords(words, a.words) {
			// A synonym of more words says more: "Fecha gestión" beats
			// "Fecha" for occurred_at when a file has both.
			s.Field, s.Source, s.Score, s.Near = a.field, MatchAlias, 0.95+0.01*float64(min(len(words), 4)), ""
			if a.exact {
				s.Source, s.Score = MatchExact, 1
			}
			return s
		}
		sim := Similarity(key, a.key)
		if c := containment(words, a.words); c > sim {
			sim = c
		}
		if sim >= similarThreshold && sim > best {
			best = sim
			s.Field, s.Source, s.Near = a.field, MatchSimilar, a.name
		}
	}
	if best > 0 {
		s.Score = 0.9 * best
	}
	return s
}

// containment scores a header whose words include every word of an alias
// ("Fecha gestión local" holds "fecha gestión"): more for longer aliases,
// which say more.
func containment(words, alias []string) float64 {
	for _, w := range alias {
		if !hasWord(words, w) {
			return 0
		}
	}
	if len(alias) >= 2 {
		return 0.85
	}
	return 0.78
}

func hasWord(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}

func equalWords(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Similarity is 1 minus the edit distance of a and b over the longer one's
// length, in characters: 1 for equal strings, 0 for nothing in common.
func Similarity(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	n := max(len(ra), len(rb))
	if n == 0 {
		return 1
	}
	return 1 - float64(editDistance(ra, rb))/float64(n)
}

// EditDistance is the Levenshtein distance between a and b, in runes: how
// many insertions, deletions and substitutions turn one into the other.
// The command line uses it to suggest the flag a misspelt one meant.
func EditDistance(a, b string) int { return editDistance([]rune(a), []rune(b)) }

// editDistance is Levenshtein's: insertions, deletions and substitutions.
func editDistance(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// DetectHeader returns the index in rows of the header: the first of the
// first rows for which at least two fields are suggested, as Open takes the
// first row naming two fields; 0 when none is. It is how a title row above
// the header is told apart from it before any mapping exists.
func DetectHeader(rows [][]string, saved *Mapping) int {
	for i, cells := range rows {
		if i >= headerScanRows {
			break
		}
		n := 0
		for _, s := range SuggestMapping(cells, saved) {
			if s.Field != NoField {
				n++
			}
		}
		if n >= 2 {
			return i
		}
	}
	return 0
}
