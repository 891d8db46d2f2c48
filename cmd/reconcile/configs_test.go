package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reten/reconcile/internal/validate"
)

const testKey = "rtn_sk_configs_test_5f3a9c"

// runMain runs the command line with the given environment and returns the exit
// code and everything printed.
func runMain(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	return runMainCtx(t, context.Background(), vars, args...)
}

// runMainCtx is runMain with the caller's context.
func runMainCtx(t *testing.T, ctx context.Context, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	// A ledger of the test's own unless the test names one: the user's
	// default state dir would outlive the test, and a later test whose
	// sandbox got the same port would find this one's results there.
	state := t.TempDir()
	env := &environ{stdout: &stdout, stderr: &stderr, getenv: func(k string) string {
		if v, ok := vars[k]; ok || k != "XDG_STATE_HOME" {
			return v
		}
		return state
	}}
	code := Main(ctx, env, args)
	return code, stdout.String(), stderr.String()
}

func configsServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Header.Get("x-api-key") != testKey:
			w.WriteHeader(401)
			w.Write([]byte(`{"statusCode":401,"error":"Unauthorized","message":"API key missing or invalid"}`))
		case r.URL.Path == "/api/integration/task-result-type-configs":
			w.Write([]byte(`[{"code":"RESCHEDULE","label":"Reprogramar visita","requiresFutureScheduledAt":true},{"code":"SALE_COMPLETED","label":"Venta completada","requiresFutureScheduledAt":false}]`))
		default:
			w.WriteHeader(404)
			w.Write([]byte(`{"statusCode":404,"error":"Not Found","message":"Cannot GET"}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestConfigsPull(t *testing.T) {
	srv := configsServer(t)
	out := filepath.Join(t.TempDir(), "nested", "configs.json")
	code, stdout, stderr := runMain(t, map[string]string{"RETEN_BASE_URL": srv.URL, "RETEN_API_KEY": testKey}, "configs", "pull", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	cat, err := validate.LoadCatalogue(out)
	if err != nil {
		t.Fatal(err)
	}
	if cat.BaseURL != srv.URL || cat.FetchedAt.IsZero() || len(cat.Configs) != 2 || !cat.Configs[0].RequiresFutureScheduledAt {
		t.Errorf("cache = %+v", cat)
	}
	if !strings.Contains(stdout, "saved 2 result types") || !strings.Contains(stdout, "RESCHEDULE") {
		t.Errorf("stdout = %q", stdout)
	}
	if strings.Contains(stdout+stderr, testKey) {
		t.Error("the key was printed")
	}
}

func TestConfigsPullKeyFromFile(t *testing.T) {
	srv := configsServer(t)
	keyFile := filepath.Join(t.TempDir(), "key")
	writeFile(t, keyFile, testKey+"\n")
	out := filepath.Join(t.TempDir(), "configs.json")
	code, _, stderr := runMain(t, map[string]string{"RETEN_BASE_URL": srv.URL, "RETEN_API_KEY_FILE": keyFile}, "configs", "pull", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestConfigsPullFailures(t *testing.T) {
	srv := configsServer(t)
	out := filepath.Join(t.TempDir(), "configs.json")
	tests := []struct {
		name     string
		vars     map[string]string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no base URL", map[string]string{"RETEN_API_KEY": testKey}, nil, exitUsage, "RETEN_BASE_URL is not set"},
		{"no key", map[string]string{"RETEN_BASE_URL": srv.URL}, nil, exitUsage, "RETEN_API_KEY is not set"},
		{"bad base URL", map[string]string{"RETEN_BASE_URL": "api.reten.ai", "RETEN_API_KEY": testKey}, nil, exitUsage, "not an http(s) URL"},
		{"key with a space", map[string]string{"RETEN_BASE_URL": srv.URL, "RETEN_API_KEY": testKey + " x"}, nil, exitUsage, "spaces or control characters"},
		{"wrong key", map[string]string{"RETEN_BASE_URL": srv.URL, "RETEN_API_KEY": testKey + "x"}, nil, exitAuth, "not revoked or expired"},
		{"unreachable", map[string]string{"RETEN_BASE_URL": "http://127.0.0.1:1", "RETEN_API_KEY": testKey}, nil, exitError, "check RETEN_BASE_URL"},
		{"missing pull", map[string]string{}, []string{"configs"}, exitUsage, "usage: reconcile configs pull"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if args == nil {
				args = []string{"configs", "pull", "--out", out}
			}
			code, stdout, stderr := runMain(t, tt.vars, args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr %q does not say %q", stderr, tt.wantErr)
			}
			if strings.Contains(stdout+stderr, testKey) {
				t.Error("the key was printed")
			}
		})
	}
}
