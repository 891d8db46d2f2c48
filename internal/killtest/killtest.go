// Package killtest runs a test in a child process and kills it with SIGKILL
// when the child says it is ready, so that a test can check what a run
// killed in the middle of its work leaves behind.
package killtest

import (
	"io"
	"os"
	"os/exec"
	"testing"
)

// Child returns the value of the environment variable env when this
// process is the child Kill started, and "" otherwise.
func Child(env string) string { return os.Getenv(env) }

// Ready tells the parent that the child is where it is to be killed, then
// blocks until it is.
func Ready() {
	os.Stdout.WriteString("ready\n")
	select {}
}

// Kill runs the test named test of this test binary in a child process with
// env set to value, waits for it to call Ready, and kills it with SIGKILL.
func Kill(t *testing.T, test, env, value string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env+"="+value)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the child said %q, %v", buf, err)
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
}
