package main

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// instruction is one instruction of a Dockerfile: its keyword in upper
// case, its arguments, and the line it starts on.
type instruction struct {
	cmd  string
	args string
	line int
}

// parseDockerfile reads the instructions of a Dockerfile: comments and
// blank lines left out, lines ending in a backslash joined to the next.
func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args), start})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur.Len() > 0 {
		t.Fatalf("%s ends in a continued line", path)
	}
	return out
}

// TestDockerfile checks the repository's Dockerfile without a docker
// engine (.ci/run builds the image when one answers): every instruction is
// one docker knows; a build stage builds ./cmd/reconcile; the last stage is
// distroless or alpine, gets the binary from a stage of this file, runs as
// a user that is not root, and starts the binary.
func TestDockerfile(t *testing.T) {
	path := filepath.Join("..", "..", "Dockerfile")
	known := []string{"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
		"USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
	type stage struct {
		name, base string
		ins        []instruction
	}
	var stages []*stage
	for _, in := range parseDockerfile(t, path) {
		if !slices.Contains(known, in.cmd) {
			t.Errorf("Dockerfile:%d: unknown instruction %s", in.line, in.cmd)
			continue
		}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := &stage{base: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			} else if len(f) != 1 {
				t.Errorf("Dockerfile:%d: FROM %s: want IMAGE [AS NAME]", in.line, in.args)
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("Dockerfile:%d: %s before the first FROM", in.line, in.cmd)
			}
			continue
		}
		st := stages[len(stages)-1]
		st.ins = append(st.ins, in)
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages: want a build stage and a small final one", len(stages))
	}
	built := false
	for _, s := range stages[:len(stages)-1] {
		for _, in := range s.ins {
			if in.cmd == "RUN" && strings.Contains(in.args, "go build") && strings.Contains(in.args, "./cmd/reconcile") {
				built = true
			}
		}
	}
	if !built {
		t.Error("no build stage runs go build ./cmd/reconcile")
	}
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.base, "gcr.io/distroless/") && !strings.HasPrefix(final.base, "alpine") {
		t.Errorf("final stage FROM %s: want distroless or alpine", final.base)
	}
	var user, entry string
	copied := map[string]bool{} // destinations of the final stage's copies
	for _, in := range final.ins {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entry = in.args
		case "COPY":
			f := strings.Fields(in.args)
			for _, a := range f {
				if from, ok := strings.CutPrefix(a, "--from="); ok && !slices.ContainsFunc(stages[:len(stages)-1], func(s *stage) bool { return s.name == from }) {
					t.Errorf("Dockerfile:%d: COPY --from=%s names no earlier stage", in.line, from)
				}
			}
			copied[f[len(f)-1]] = true
		}
	}
	if name, _, _ := strings.Cut(user, ":"); user == "" || name == "root" || name == "0" {
		t.Errorf("final stage USER %q: want a user that is not root", user)
	}
	bin := ""
	for dest := range copied {
		if strings.HasSuffix(dest, "/reconcile") {
			bin = dest
		}
	}
	if bin == "" {
		t.Errorf("the final stage copies no reconcile binary (copies to %v)", copied)
	} else if !strings.Contains(entry, `"`+bin+`"`) {
		t.Errorf("ENTRYPOINT %s does not start %s", entry, bin)
	}
}
