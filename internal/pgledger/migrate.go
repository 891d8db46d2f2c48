package pgledger

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationFiles are the schema's versions: NNN_what.sql takes the schema
// from version NNN-1 to NNN. A file, once released, is never edited: a
// change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// SchemaVersion is the version of the schema this reconcile creates and uses.
var SchemaVersion = len(mustMigrations(migrationFiles))

type migration struct {
	version int
	name    string
	sql     string
}

func mustMigrations(fsys fs.FS) []migration {
	ms, err := readMigrations(fsys)
	if err != nil {
		panic(err)
	}
	return ms
}

// readMigrations reads the migrations of fsys (a folder migrations of .sql
// files), checking that their versions run 1, 2, 3 ... without a gap.
func readMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for i, name := range names { // fs.Glob sorts them
		base := path.Base(name)
		num, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil || v != i+1 {
			return nil, fmt.Errorf("pgledger: migration %s: want version %03d here", name, i+1)
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(data)})
	}
	return ms, nil
}

// SchemaTooNewError is returned when the ledger's schema is newer than this
// reconcile knows: a newer reconcile migrated it, and this one must not
// write to it.
type SchemaTooNewError struct {
	Version int // the database's
	Known   int // this reconcile's
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("the ledger schema is version %d, this reconcile knows up to %d: upgrade reconcile", e.Version, e.Known)
}

// SchemaTooOldError is returned by ReadStatus when the ledger's schema is
// older than this reconcile's: status reads, it does not migrate.
type SchemaTooOldError struct {
	Version int // the database's; 0 when the ledger was never created
	Known   int
}

func (e *SchemaTooOldError) Error() string {
	if e.Version == 0 {
		return "the database holds no ledger yet: run reconcile ledger migrate, or a run with --ledger, to create it"
	}
	return fmt.Sprintf("the ledger schema is version %d, this reconcile uses version %d: run reconcile ledger migrate", e.Version, e.Known)
}

// Migration says what Migrate did.
type Migration struct {
	From, To int // schema versions before and after; equal when there was nothing to do
}

// Migrate creates the ledger's schema in the database at url, or brings it
// to SchemaVersion: what `reconcile ledger migrate` does, and what Open does
// when it finds an older schema. Several processes may call it at once: the
// first to take the migration lock migrates, the others then find nothing
// to do.
func Migrate(ctx context.Context, url string) (Migration, error) {
	pool, err := connect(ctx, url)
	if err != nil {
		return Migration{}, err
	}
	defer pool.Close()
	return migrate(ctx, pool, mustMigrations(migrationFiles), url)
}

// schemaVersion reads the version of the schema without a lock; 0 when it
// was never created.
func schemaVersion(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('ledger_schema') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, err
	}
	if !exists {
		return 0, nil
	}
	var v int
	err := q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM ledger_schema`).Scan(&v)
	return v, err
}

// migrate applies the migrations of ms that the database lacks, all in one
// transaction under an advisory lock, so that two workers starting at once
// neither race nor see half a schema.
func migrate(ctx context.Context, pool *pgxpool.Pool, ms []migration, url string) (Migration, error) {
	var m Migration
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('reconcile ledger schema ' || current_schema()))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS ledger_schema (
			version integer PRIMARY KEY,
			name    text NOT NULL,
			applied timestamptz NOT NULL DEFAULT clock_timestamp())`); err != nil {
			return err
		}
		v, err := schemaVersion(ctx, tx)
		if err != nil {
			return err
		}
		m = Migration{From: v, To: v}
		if v > len(ms) {
			return &SchemaTooNewError{Version: v, Known: len(ms)}
		}
		for _, mg := range ms[v:] {
			if _, err := tx.Exec(ctx, mg.sql); err != nil {
				return fmt.Errorf("migration %s: %w", mg.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO ledger_schema (version, name) VALUES ($1, $2)`, mg.version, mg.name); err != nil {
				return err
			}
			m.To = mg.version
		}
		return nil
	})
	var tooNew *SchemaTooNewError
	if err != nil && !errors.As(err, &tooNew) {
		return Migration{}, fmt.Errorf("cannot migrate the ledger schema at %s from version %d: %w: nothing was changed", Redact(url), m.From, err)
	}
	return m, err
}
