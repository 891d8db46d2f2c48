package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/sandbox"
)

// syncBuffer is an io.Writer the command and the test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runningSandbox is `reconcile sandbox` started by Main in the test process.
type runningSandbox struct {
	url            string
	stdout, stderr *syncBuffer
	stop           func() int // cancels and returns the exit code
}

func startSandboxCommand(t *testing.T, args ...string) *runningSandbox {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rs := &runningSandbox{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	env := &environ{stdout: rs.stdout, stderr: rs.stderr, getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() { done <- Main(ctx, env, append([]string{"sandbox", "--addr", "127.0.0.1:0"}, args...)) }()
	rs.stop = func() int {
		cancel()
		return <-done
	}
	addr := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	for range 500 {
		if m := addr.FindStringSubmatch(rs.stdout.String()); m != nil {
			rs.url = m[1]
			return rs
		}
		select {
		case code := <-done:
			t.Fatalf("sandbox exited with %d: %s", code, rs.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	rs.stop()
	t.Fatalf("sandbox printed no address: %q", rs.stdout)
	return nil
}

func (rs *runningSandbox) setFaults(t *testing.T, f sandbox.Faults) {
	t.Helper()
	body, _ := json.Marshal(f)
	resp, err := http.Post(rs.url+"/_sandbox/faults", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("setting faults: %s", resp.Status)
	}
}

// Distinctive keys: every one contains secretMark, so a key cut short or
// padded is still found.
const secretMark = "Q7zX"

var (
	keyFull    = "rtn_sk_" + secretMark + "full0a1b2c"
	keyViewer  = "rtn_sk_" + secretMark + "view3d4e5f"
	keyRevoked = "rtn_sk_" + secretMark + "revk6a7b8c"
	keyExpired = "rtn_sk_" + secretMark + "expd9d0e1f"
	keyUnknown = "rtn_sk_" + secretMark + "none2a3b4c"
)

func writeSecretTenant(t *testing.T) string {
	t.Helper()
	tn := sandbox.SyntheticTenant(5)
	tn.Keys = map[string][]string{
		keyFull:    {api.PermViewActivities, api.PermSubmitActivityResult},
		keyViewer:  {api.PermViewActivities},
		keyRevoked: {api.PermViewActivities, api.PermSubmitActivityResult},
		keyExpired: {api.PermViewActivities, api.PermSubmitActivityResult},
	}
	tn.RevokedKeys = []string{keyRevoked}
	tn.KeyExpiry = map[string]string{keyExpired: "2025-01-01T00:00:00Z"}
	data, _ := json.Marshal(tn)
	path := filepath.Join(t.TempDir(), "tenant.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKeyNeverShown runs every failure path with distinctive keys and looks
// for them in every error string, every log line and everything printed.
func TestKeyNeverShown(t *testing.T) {
	rs := startSandboxCommand(t, "--tenant", writeSecretTenant(t))
	ctx := context.Background()
	var shown []string // every error string and piece of advice the user could see
	note := func(err error) {
		if err == nil {
			t.Error("a failure path succeeded")
			return
		}
		// What the engine prints is these pieces put together (apiFailure).
		shown = append(shown, err.Error())
		if e, ok := api.AsError(err); ok {
			shown = append(shown, e.Advice(), e.Message, e.Err)
		}
	}
	req := func() *api.SubmitRequest {
		return &api.SubmitRequest{
			ProviderActivityID: "SYN-0000001", CommerceExternalID: "SYNC-00001",
			OccurredAt: "2026-04-11T10:30:00.000Z", Status: api.StatusEffective,
			TaskResult: api.TaskResult{Result: "SALE_COMPLETED"},
		}
	}
	cl := func(key string) *api.Client {
		c, err := api.NewClient(rs.url, key)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	submit := func(key string, edit func(*api.SubmitRequest)) error {
		r := req()
		if edit != nil {
			edit(r)
		}
		_, err := cl(key).SubmitResult(ctx, r)
		return err
	}

	// 401 and 403 on every endpoint, and keys the client refuses to send.
	for _, key := range []string{keyUnknown, keyRevoked, keyExpired, keyFull + "!", keyFull[:len(keyFull)-1], keyViewer} {
		note(submit(key, nil))
		_, err := cl(key).ListResultTypeConfigs(ctx)
		if key != keyViewer {
			note(err)
		}
		_, err = cl(key).ListActivities(ctx, api.ActivityFilter{})
		if key != keyViewer {
			note(err)
		}
	}
	for _, key := range []string{keyFull + " ", " " + keyFull, keyFull + "\n", strings.Replace(keyFull, "_", " ", 1)} {
		note(submit(key, nil))
	}
	// 400, 404, 409.
	note(submit(keyFull, func(r *api.SubmitRequest) { r.Status = "DONE" }))
	note(submit(keyFull, func(r *api.SubmitRequest) { r.TaskResult.Result = "NOPE" }))
	note(submit(keyFull, func(r *api.SubmitRequest) { r.ProviderActivityID = "SYN-9999999" }))
	note(submit(keyFull, func(r *api.SubmitRequest) { r.CommerceExternalID = "SYNC-00002" }))
	_, err := cl(keyFull).SubmitRaw(ctx, []byte(`{"hard_override":"true"}`))
	note(err)
	if err := submit(keyFull, nil); err != nil {
		t.Fatalf("the one good submission failed: %v", err)
	}
	note(submit(keyFull, nil))
	_, err = cl(keyFull).ActivitiesPage(ctx, api.ActivityFilter{}, 0, 500)
	note(err)
	// Faults: 5xx, dropped connections, answers lost after storing, 429, timeouts.
	for _, f := range []sandbox.Faults{{FailRate: 1}, {DropRate: 1}, {FailAfterStoreRate: 1, Seed: 1}, {FailAfterStoreRate: 1, Seed: 2}, {RateLimit: 1e-9}} {
		rs.setFaults(t, f)
		if f.RateLimit > 0 {
			cl(keyFull).ListResultTypeConfigs(ctx) // takes the only token
		}
		note(submit(keyFull, func(r *api.SubmitRequest) {
			r.ProviderActivityID, r.CommerceExternalID, r.HardOverride = "SYN-0000002", "SYNC-00002", true
		}))
		if f.FailAfterStoreRate == 0 {
			_, err := cl(keyFull).ListResultTypeConfigs(ctx)
			note(err)
		}
	}
	rs.setFaults(t, sandbox.Faults{Latency: 5 * time.Second})
	slow := cl(keyFull)
	slow.Timeout = 30 * time.Millisecond
	_, err = slow.SubmitResult(ctx, req())
	note(err)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	_, err = cl(keyFull).ListResultTypeConfigs(cctx)
	cancel()
	note(err)
	rs.setFaults(t, sandbox.Faults{})

	// The configs command prints its own errors for a bad key.
	for _, key := range []string{keyUnknown, keyRevoked, keyFull + " x"} {
		out, errOut := &syncBuffer{}, &syncBuffer{}
		env := &environ{stdout: out, stderr: errOut, getenv: func(k string) string {
			return map[string]string{"RETEN_BASE_URL": rs.url, "RETEN_API_KEY": key}[k]
		}}
		if code := Main(ctx, env, []string{"configs", "pull", "--out", filepath.Join(t.TempDir(), "c.json")}); code == exitOK {
			t.Errorf("configs pull with a bad key exited 0")
		}
		shown = append(shown, out.String(), errOut.String())
	}

	if code := rs.stop(); code != exitOK {
		t.Errorf("sandbox exited with %d after cancellation", code)
	}
	logs := rs.stderr.String()
	// The log must have seen the failures, or finding no key proves nothing.
	for _, want := range []string{"status=400", "status=401", "status=403", "status=404", "status=409", "status=429", "dropped=true", "client_gone=true", "stored=true", "sandbox stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log has no %q", want)
		}
	}
	if len(shown) < 60 {
		t.Errorf("only %d error strings collected", len(shown))
	}
	for i, s := range append(shown, logs, rs.stdout.String()) {
		if strings.Contains(s, secretMark) {
			t.Errorf("a key shows in output %d: %q", i, s)
		}
	}
}

func TestSandboxCommandArgs(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--fail-rate", "2"}, exitUsage, "fail rate 2 must be between 0 and 1"},
		{[]string{"--fail-rate", "0.6", "--drop-rate", "0.6"}, exitUsage, "add up to more than 1"},
		{[]string{"--latency", "-1s"}, exitUsage, "latency -1s must not be negative"},
		{[]string{"--tenant", "no/such.json"}, exitUsage, "pass --tenant with a file shaped like samples/tenant.json"},
		{[]string{"--activities", "-3"}, exitUsage, "--activities -3 must not be negative"},
		{[]string{"extra"}, exitUsage, "sandbox takes no arguments"},
		{[]string{"--nope"}, exitUsage, "unknown flag --nope"},
		{[]string{"--addr", "256.0.0.1:1", "--tenant", "../../samples/tenant.json"}, exitError, "cannot listen on 256.0.0.1:1"},
		{[]string{"-h"}, exitOK, "--rate-limit"},
	}
	for _, tt := range tests {
		var out, errOut syncBuffer
		env := &environ{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
		code := Main(context.Background(), env, append([]string{"sandbox"}, tt.args...))
		// Help asked for is output: it goes to stdout, errors to stderr.
		got := errOut.String()
		if tt.code == exitOK {
			got = out.String()
		}
		if code != tt.code || !strings.Contains(got, tt.want) {
			t.Errorf("%v: exit %d, output %q; want %d and %q", tt.args, code, got, tt.code, tt.want)
		}
	}
}

func TestSandboxCommandServes(t *testing.T) {
	rs := startSandboxCommand(t, "--tenant", "../../samples/tenant.json", "--activities", "40", "--quiet", "--fail-rate", "0.5", "--seed", "9")
	defer rs.stop()
	if !strings.Contains(rs.stdout.String(), "100 activities, 4 result types") {
		t.Errorf("start line %q", rs.stdout)
	}
	resp, err := http.Get(rs.url + "/_sandbox/faults")
	if err != nil {
		t.Fatal(err)
	}
	var f sandbox.Faults
	json.NewDecoder(resp.Body).Decode(&f)
	resp.Body.Close()
	if f != (sandbox.Faults{FailRate: 0.5, Seed: 9}) {
		t.Errorf("faults from flags: %+v", f)
	}
	c, _ := api.NewClient(rs.url, "rtn_sk_demo")
	for range 20 {
		c.ListResultTypeConfigs(context.Background())
	}
	if strings.Contains(rs.stderr.String(), "msg=request") {
		t.Error("--quiet still logs requests")
	}
}

// TestSandboxShutdownDuringLatency: Ctrl-C must not wait out --latency, and a
// request cut short must not look like a success.
func TestSandboxShutdownDuringLatency(t *testing.T) {
	rs := startSandboxCommand(t, "--tenant", "../../samples/tenant.json", "--latency", "1h")
	c, _ := api.NewClient(rs.url, "rtn_sk_demo")
	c.Timeout = -1
	got := make(chan error, 1)
	go func() {
		_, err := c.ListResultTypeConfigs(context.Background())
		got <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the request arrive; the test holds either way
	if code := rs.stop(); code != exitOK {
		t.Errorf("exit %d: %s", code, rs.stderr)
	}
	if err := <-got; err == nil {
		t.Error("a request cut short by shutdown succeeded")
	}
}

// The installed binary's sandbox serves the built-in tenant from any
// folder: here one with no samples/ in it.
func TestSandboxFromAnyFolder(t *testing.T) {
	t.Chdir(t.TempDir())
	rs := startSandboxCommand(t, "--quiet")
	defer rs.stop()
	if !strings.Contains(rs.stdout.String(), "the built-in demo tenant: 60 activities, 4 result types") {
		t.Errorf("start line %q", rs.stdout)
	}
	c, _ := api.NewClient(rs.url, "rtn_sk_demo")
	if configs, err := c.ListResultTypeConfigs(context.Background()); err != nil || len(configs) != 4 {
		t.Errorf("result types = %v, %v", configs, err)
	}
}
