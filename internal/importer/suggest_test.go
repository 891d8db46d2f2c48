package importer

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSuggestMapping(t *testing.T) {
	for _, c := range []struct {
		header string
		want   Field
		source MatchSource
	}{
		{"activity_id", ActivityID, MatchExact},
		{"Task Result Result", Result, MatchExact},
		{"result", Result, MatchExact},
		{"ID Actividad", ActivityID, MatchAlias},
		{"id_actividad", ActivityID, MatchAlias},
		{"Fecha de gestión", OccurredAt, MatchAlias},
		{"FECHA GESTION", OccurredAt, MatchAlias},
		{"Gestión, fecha", OccurredAt, MatchAlias},
		{"Resultado", Result, MatchAlias},
		{"Comercio", CommerceExternalID, MatchAlias},
		{"Fecha reprogramación", FutureScheduledAt, MatchAlias},
		{"Tipo de contacto", ContactType, MatchAlias},
		{"Provider ID", ProviderActivityID, MatchAlias},
		{"Estado externo", ExternalStatus, MatchAlias},
		{"Fceha gestión", OccurredAt, MatchSimilar},              // a typo
		{"Fecha gestión (hora local)", OccurredAt, MatchSimilar}, // extra words
		{"Resultdo", Result, MatchSimilar},
		{"Observaciones", NoField, MatchNone},
		{"Zona", NoField, MatchNone},
		{"", NoField, MatchNone},
	} {
		got := SuggestMapping([]string{c.header}, nil)[0]
		if got.Field != c.want || got.Source != c.source {
			t.Errorf("%q: suggested %s by %s (near %q), want %s by %s", c.header, got.Field, got.Source, got.Near, c.want, c.source)
		}
	}
}

func TestSuggestMappingGivesAFieldOnce(t *testing.T) {
	got := SuggestMapping([]string{"Fecha", "Fecha de gestión", "Resultado", "Result"}, nil)
	want := []Field{NoField, OccurredAt, NoField, Result}
	for i, s := range got {
		if s.Field != want[i] {
			t.Errorf("%q: %s, want %s (the stronger match keeps the field)", s.Header, s.Field, want[i])
		}
	}
}

func TestSuggestMappingPrefersTheSavedMapping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.txt")
	os.WriteFile(path, []byte("Fecha = future_scheduled_at\nComercio = ignore\n"), 0o644)
	m, err := LoadMapping(path)
	if err != nil {
		t.Fatal(err)
	}
	got := SuggestMapping([]string{"fecha", "Comercio", "Resultado"}, m)
	if got[0].Field != FutureScheduledAt || got[0].Source != MatchSaved {
		t.Errorf("fecha: %+v, want the saved future_scheduled_at", got[0])
	}
	if !got[1].Ignore || got[1].Field != NoField || got[1].Source != MatchSaved {
		t.Errorf("Comercio: %+v, want ignored by the saved mapping", got[1])
	}
	if got[2].Field != Result || got[2].Source != MatchAlias {
		t.Errorf("Resultado: %+v, want the synonym where the mapping is silent", got[2])
	}
	if got := SuggestMapping([]string{"reconcile_error"}, nil)[0]; !got.Ignore {
		t.Errorf("reconcile_error: %+v, want ignored", got)
	}
}

// The Spanish samples' headers get the shipped mapping's fields without it.
func TestSuggestMappingMatchesTheShippedSpanishMapping(t *testing.T) {
	m, err := LoadMapping(filepath.Join("..", "..", "samples", "mapping-es.txt"))
	if err != nil {
		t.Fatal(err)
	}
	headers := []string{"ID Actividad", "ID Proveedor", "Comercio", "Fecha gestión", "Estado", "Estado externo", "Forzar", "Resultado", "Comentario", "Tipo contacto", "Operador", "Fecha reprogramación", "Datos"}
	for _, s := range SuggestMapping(headers, nil) {
		want, _, _ := m.Lookup(s.Header)
		if s.Field != want {
			t.Errorf("%q: suggested %s, mapping-es.txt says %s", s.Header, s.Field, want)
		}
	}
}

func TestDetectHeaderSkipsATitleRow(t *testing.T) {
	rows := [][]string{
		{"Resultados de gestión — abril 2026"},
		{"Exportado el 30/04/2026", "por CRM"},
		{"ID Actividad", "Comercio", "Fecha gestión", "Estado", "Resultado"},
		{"c802f3b1-b187-5bee-b525-2d12a494a69f", "COM-001", "11/04/2026", "EFFECTIVE", "Venta completada"},
	}
	if got := DetectHeader(rows, nil); got != 2 {
		t.Errorf("DetectHeader = %d, want 2", got)
	}
	if got := DetectHeader([][]string{{"a", "b"}, {"1", "2"}}, nil); got != 0 {
		t.Errorf("DetectHeader of a file naming no field = %d, want 0 (the first row)", got)
	}
}

func TestSimilarity(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want float64
	}{
		{"", "", 1}, {"abc", "abc", 1}, {"abc", "", 0}, {"fechagestion", "fechagestin", 1 - 1.0/12}, {"kitten", "sitting", 1 - 3.0/7},
		{"gestión", "gestion", 1 - 1.0/7},
	} {
		if got := Similarity(c.a, c.b); got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("Similarity(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestWriteMappingReadsBack(t *testing.T) {
	entries := []MappingEntry{
		{Header: "ID Actividad", Field: ActivityID},
		{Header: "Fecha\ngestión", Field: OccurredAt},
		{Header: "# Resultado", Field: Result},
		{Header: "a = b", Field: Comment},
		{Header: "Observaciones", Ignore: true},
		{Header: "Sin campo", Field: NoField},
		{Header: "!!!", Field: Status},
	}
	var buf bytes.Buffer
	if err := WriteMapping(&buf, "Mapping of x.xlsx\nsecond line", entries); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mapping.txt")
	os.WriteFile(path, buf.Bytes(), 0o644)
	m, err := LoadMapping(path)
	if err != nil {
		t.Fatalf("LoadMapping of\n%s: %v", buf.String(), err)
	}
	for _, e := range entries[:5] {
		f, ignore, found := m.Lookup(e.Header)
		if !found || f != e.Field && !e.Ignore || ignore != e.Ignore {
			t.Errorf("%q reads back as %s (ignore %v, found %v)", e.Header, f, ignore, found)
		}
	}
	if _, _, found := m.Lookup("Sin campo"); found {
		t.Error("a header with no field was written")
	}
	if !strings.HasPrefix(buf.String(), "# Mapping of x.xlsx\n# second line\n") {
		t.Errorf("comments: %q", buf.String())
	}
}

func TestPeekShowsTheTopOfAFileAsItIs(t *testing.T) {
	s, err := Peek(filepath.Join("..", "..", "samples", "resultados.csv"), Options{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind != "csv" || s.Delimiter != ';' || s.Encoding != "windows-1252" || len(s.Rows) != 3 || !s.More {
		t.Errorf("resultados.csv: %+v", s)
	}
	if s.Rows[0].Row != 1 || s.Rows[0].Cells[3] != "Fecha gestión" {
		t.Errorf("first row: %+v", s.Rows[0])
	}

	x, err := Peek(filepath.Join("..", "..", "samples", "resultados.xlsx"), Options{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if x.Kind != "xlsx" || x.Sheet != "Resultados" || strings.Join(x.Sheets, ",") != "Resultados,Notas" || x.More {
		t.Errorf("resultados.xlsx: %+v", x)
	}
	if x.Rows[0].Row != 1 || len(x.Rows[0].Cells) != 1 || x.Rows[1].Row != 2 || x.Rows[1].Cells[0] != "ID Actividad" {
		t.Errorf("a title row on row 1, the header on row 2; got %+v, %+v", x.Rows[0], x.Rows[1])
	}
	notas, err := Peek(filepath.Join("..", "..", "samples", "resultados.xlsx"), Options{Sheet: "Notas"}, 5)
	if err != nil || notas.Sheet != "Notas" {
		t.Errorf("sheet Notas: %+v, %v", notas, err)
	}

	dir := t.TempDir()
	for name, content := range map[string]string{
		"old.xls":   "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 legacy",
		"fake.xlsx": "not a zip",
		"empty.csv": "",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		_, perr := Peek(p, Options{}, 5)
		_, oerr := Open(p, Options{})
		if perr == nil || oerr == nil || perr.Error() != oerr.Error() {
			t.Errorf("%s: Peek says %v, Open says %v; want the same error", name, perr, oerr)
		}
	}
}

type rowList struct{ rows []Row }

func (l *rowList) Next() (Row, error) {
	if len(l.rows) == 0 {
		return Row{}, errEOF
	}
	r := l.rows[0]
	l.rows = l.rows[1:]
	return r, nil
}

func TestEditedRowsPutCorrectionsInPlace(t *testing.T) {
	l := &Layout{Columns: []string{"a", "b"}}
	src := &rowList{rows: []Row{
		{Pos: Position{Row: 2}, Layout: l, Cells: []string{"1", "x"}},
		{Pos: Position{Row: 3}, Layout: l, Cells: []string{"", ""}, Err: errEOF},
		{Pos: Position{Row: 4}, Layout: l, Cells: []string{"3", "z"}},
	}}
	edits := Edits{3: {"2", "y", "extra beyond the columns"}, 4: {"4"}}
	e := &EditedRows{Rows: src, Edits: edits}
	var got [][]string
	for {
		r, err := e.Next()
		if err != nil {
			break
		}
		if r.Pos.Row == 3 && r.Err != nil {
			t.Error("an edited row keeps its read error")
		}
		got = append(got, r.Cells)
	}
	want := "1,x|2,y|4,"
	var s []string
	for _, c := range got {
		s = append(s, strings.Join(c, ","))
	}
	if strings.Join(s, "|") != want {
		t.Errorf("rows = %q, want %q", strings.Join(s, "|"), want)
	}
	got[1][0] = "changed"
	if edits[3][0] != "2" {
		t.Error("changing a row read changed the edits")
	}
}
