package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Mapping says which contract field each of the user's column headers holds.
// Headers are compared folded: case, accents, spaces and punctuation do not
// count. The zero Mapping knows only the contract's own names.
type Mapping struct {
	fields  map[string]Field // folded header -> field
	ignored map[string]bool  // folded headers the user asked to drop
}

// ignoreNames are the targets a mapping file uses to drop a column silently.
var ignoreNames = map[string]bool{"-": true, "ignore": true, "none": true}

// LoadMapping reads a mapping file. Two forms are accepted:
//
//	# comment
//	ID Actividad  = activity_id
//	Resultado     = result
//	Notas internas = ignore
//
// or a JSON object {"ID Actividad": "activity_id", ...}. Targets are contract
// field names (task_result.result or result), or "ignore" (also "-") to drop a
// column without the unknown-column warning.
func LoadMapping(path string) (*Mapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading mapping file: %w", err)
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	pairs, err := parseMappingPairs(path, data)
	if err != nil {
		return nil, err
	}
	m := &Mapping{fields: map[string]Field{}, ignored: map[string]bool{}}
	for _, p := range pairs {
		key := foldHeader(p.header)
		if key == "" {
			return nil, fmt.Errorf("%s, line %d: the header %q has no letters or digits; write the column header as it appears in the file", path, p.line, p.header)
		}
		target := strings.TrimSpace(p.target)
		if ignoreNames[strings.ToLower(target)] {
			m.ignored[key] = true
			continue
		}
		f, ok := ParseField(target)
		if !ok {
			return nil, fmt.Errorf("%s, line %d: %q is not a field of the contract; use one of %s, or ignore", path, p.line, target, strings.Join(FieldNames(), ", "))
		}
		if prev, dup := m.fields[key]; dup && prev != f {
			return nil, fmt.Errorf("%s, line %d: the header %q is already mapped to %s; map each header once", path, p.line, p.header, prev)
		}
		m.fields[key] = f
	}
	return m, nil
}

type mappingPair struct {
	header, target string
	line           int
}

func parseMappingPairs(path string, data []byte) ([]mappingPair, error) {
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		var obj map[string]string
		if err := json.Unmarshal(t, &obj); err != nil {
			return nil, fmt.Errorf("%s is not a JSON object of \"header\": \"field\" pairs: %v", path, err)
		}
		pairs := make([]mappingPair, 0, len(obj))
		for h, f := range obj {
			pairs = append(pairs, mappingPair{header: h, target: f})
		}
		sort.Slice(pairs, func(i, j int) bool { return pairs[i].header < pairs[j].header })
		return pairs, nil
	}
	var pairs []mappingPair
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, '=')
		if i < 0 {
			return nil, fmt.Errorf("%s, line %d: expected \"header = field\", got %q", path, n, line)
		}
		pairs = append(pairs, mappingPair{header: strings.TrimSpace(line[:i]), target: line[i+1:], line: n})
	}
	return pairs, sc.Err()
}

// FieldNames lists the contract's field names, in contract order.
func FieldNames() []string {
	names := make([]string, NumFields)
	for f := Field(0); int(f) < NumFields; f++ {
		names[f] = f.String()
	}
	return names
}

// lookup returns the field a header holds; ignore is true for a column to
// drop silently (mapped to ignore, or added by reconcile's own reports).
func (m *Mapping) lookup(header string) (f Field, ignore bool) {
	key := foldHeader(header)
	if m != nil {
		if f, ok := m.fields[key]; ok {
			return f, false
		}
		if m.ignored[key] {
			return NoField, true
		}
	}
	if f, ok := fieldKeys[key]; ok {
		return f, false
	}
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(header)), ReasonColumnPrefix) {
		return NoField, true
	}
	return NoField, false
}
