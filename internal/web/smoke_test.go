package web

import (
	"testing"
)

func TestSmokeFlow(t *testing.T) {
	f := newFixture(t)
	b := f.loggedIn()
	id := b.uploadOK("resultados.xlsx", sample(t, "resultados.xlsx"))
	t.Log(b.getOK("/uploads/" + id))
	t.Log(b.getOK("/uploads/" + id + "/map"))
	res := b.mapSuggested(id)
	t.Log(res.Status, res.Header.Get("Location"))
	t.Log(b.getOK("/uploads/" + id + "/preview"))
}
