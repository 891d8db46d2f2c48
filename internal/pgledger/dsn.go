package pgledger

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Redact returns the ledger URL (a postgres:// URL or a key=value
// connection string) with its password replaced by ***, for errors and
// logs: postgres://user:***@host/db. A string it cannot read is redacted
// from the first ':' after the scheme's "//" to the last '@'.
func Redact(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return redactURL(dsn)
	}
	return kvPassword.ReplaceAllString(dsn, "${1}***")
}

// kvPassword matches the password of a key=value connection string, quoted
// ('it”s', 'a\'b') or not.
var kvPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.|'')*'|[^\s]*)`)

// urlPassword matches user:password@ in a URL that net/url refused.
var urlPassword = regexp.MustCompile(`^([a-z]+://[^:/@]*:)(.*)@`)

func redactURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return urlPassword.ReplaceAllString(dsn, "${1}***@")
	}
	_, hasPassword := u.User.Password()
	if hasPassword {
		// net/url would escape the stars.
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	if u.RawQuery != "" {
		params := strings.Split(u.RawQuery, "&")
		for i, p := range params {
			if k, _, ok := strings.Cut(p, "="); ok && strings.EqualFold(k, "password") {
				params[i] = k + "=***"
			}
		}
		u.RawQuery = strings.Join(params, "&")
	}
	if hasPassword {
		return strings.Replace(u.String(), ":REDACTED@", ":***@", 1)
	}
	return u.String()
}

// UnreachableError is returned when the ledger's database cannot be
// reached or refuses the connection: nothing was sent.
type UnreachableError struct {
	URL string // redacted
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the ledger database %s: %v: check that PostgreSQL is running and accepts this host, user and password, "+
		"and the ledger URL (--ledger or RECONCILE_LEDGER_URL); nothing was sent", e.URL, strings.ReplaceAll(e.Err.Error(), "\n\t", "; "))
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// defaultConnectTimeout bounds each connection attempt when the URL sets no
// connect_timeout: a firewall that drops packets must not hang a cron job.
const defaultConnectTimeout = 10 * time.Second

// connect opens a pool on url and checks that the server answers.
func connect(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message quotes the string it could not parse: say it again
		// without the password.
		return nil, fmt.Errorf("the ledger URL %s is not valid: %s: give postgres://USER:PASSWORD@HOST:PORT/DATABASE", Redact(dsn), redactedCause(err, dsn))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, &UnreachableError{URL: Redact(dsn), Err: redactErr(err, dsn)}
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, &UnreachableError{URL: Redact(dsn), Err: redactErr(err, dsn)}
	}
	return pool, nil
}

// redactErr is err, or an error of its message redacted if it quotes the
// password.
func redactErr(err error, dsn string) error {
	if msg := redactedCause(err, dsn); msg != err.Error() {
		return errors.New(msg)
	}
	return err
}

// redactedCause is err's message with any copy of dsn or of its password
// redacted.
func redactedCause(err error, dsn string) string {
	msg := strings.ReplaceAll(err.Error(), dsn, Redact(dsn))
	if u, perr := url.Parse(dsn); perr == nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "***")
		}
	}
	if m := kvPassword.FindStringSubmatch(dsn); m != nil && len(m[2]) > 0 {
		msg = strings.ReplaceAll(msg, m[2], "***")
	}
	return msg
}
