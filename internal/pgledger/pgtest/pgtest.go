// Package pgtest gives tests a PostgreSQL ledger database of their own: a
// schema in the database that RECONCILE_TEST_POSTGRES names (.ci/run starts
// the server and sets it), dropped when the test ends.
package pgtest

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable giving the test database.
const EnvURL = "RECONCILE_TEST_POSTGRES"

// Base is the test database's URL. Without one the test is skipped, saying
// how to start a server, or, under CI=true, fails.
func Base(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: .ci/run starts PostgreSQL and sets it", EnvURL)
		}
		t.Skipf("no PostgreSQL to test against: start one (as root: pg_ctlcluster 15 main start), create a role and database as .ci/run does, "+
			"and set %s=postgres://USER:PASSWORD@127.0.0.1:5432/DB", EnvURL)
	}
	return base
}

// URL returns the URL of a schema of the test's own in the test database,
// dropped when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	base := Base(t)
	ctx := context.Background()
	schema := fmt.Sprintf("t_%s_%08x", strings.ToLower(regexp.MustCompile(`\W+`).ReplaceAllString(t.Name(), "_")), rand.Uint32())
	if len(schema) > 60 {
		schema = schema[len(schema)-60:]
		schema = "t" + schema[1:]
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		// pgx's message names host and user, never the password.
		t.Fatalf("the test database (%s): %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	return WithParam(t, base, "search_path", schema)
}

// WithParam sets one query parameter of a postgres:// URL.
func WithParam(t testing.TB, dsn, key, value string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", EnvURL)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// Proxy passes TCP connections to a server until Cut: a network between a
// worker and its database that can be taken away.
type Proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

// StartProxy listens on a loopback port and passes every connection to
// target (host:port); it is cut when the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target}
	t.Cleanup(p.Cut)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, d)
			p.mu.Unlock()
			go func() { io.Copy(d, c); d.Close() }()
			go func() { io.Copy(c, d); c.Close() }()
		}
	}()
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut drops every connection and refuses new ones: the network is gone.
func (p *Proxy) Cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}
