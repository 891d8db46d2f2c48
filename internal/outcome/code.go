package outcome

import "strconv"

// Code is a stable, machine-readable name for why a row ended in its class:
// the report's `code` column, for filters and scripts that must not depend
// on the wording of a message. "" is no problem (ok, overridden, valid).
// docs/reports.md has the table; a code, once shipped, keeps its meaning.
type Code string

// Offline problems: the row was not sent (invalid).
const (
	CodeMissingField     Code = "missing_field"      // a required cell is empty (both activity ids, commerce, occurred_at, status, result)
	CodeBadDate          Code = "bad_date"           // a date cell that is not a date in any accepted form
	CodeAmbiguousDate    Code = "ambiguous_date"     // 03/04/2026 without --date-format: day/month or month/day
	CodeNotUUID          Code = "not_uuid"           // activity_id is not a UUID
	CodeBadStatus        Code = "bad_status"         // status is not EFFECTIVE, NOT_EFFECTIVE or PENDING
	CodeBadContactType   Code = "bad_contact_type"   // contact_type is not INBOUND or OUTBOUND
	CodeUnknownResult    Code = "unknown_result"     // task_result.result is no code or label of the tenant
	CodeFutureRequired   Code = "future_required"    // the result type needs future_scheduled_at and it is empty
	CodeNotFuture        Code = "not_future"         // future_scheduled_at is not in the future
	CodeFutureNotAllowed Code = "future_not_allowed" // future_scheduled_at set for a result type that takes none
	CodeBadBoolean       Code = "bad_boolean"        // hard_override is not a yes or no
	CodeBadJSON          Code = "bad_json"           // raw_payload or payload is not a JSON object
	CodeExcelNumber      Code = "excel_number"       // an id Excel turned into scientific notation, digits lost
	CodeBadRow           Code = "bad_row"            // the row as a whole: cells beyond the header, a record that cannot be split
	CodeCheckFailed      Code = "check_failed"       // duplicate detection could not read its temporary files
)

// Rows not sent on purpose (skipped).
const (
	CodeDuplicateInFile Code = "duplicate_in_file" // a later row about an activity an earlier valid row of the batch holds
	CodeAlreadySent     Code = "already_sent"      // the ledger says this payload was accepted in an earlier run
	CodeHeldElsewhere   Code = "held_elsewhere"    // another worker is sending this activity (shared ledger)
	CodeDryRun          Code = "dry_run"           // --dry-run: valid, not sent
	CodeStopped         Code = "stopped"           // the run stopped first: signal, refused key, breaker, --deadline, --max-wait, ledger failure
)

// The API's answers and their absence.
const (
	CodeConflict Code = "conflict" // 409: the activity already has a result
	// CodeChangedSinceSent: the ledger holds a different accepted result for
	// the activity; nothing was sent (conflict).
	CodeChangedSinceSent Code = "changed_since_sent"
	// CodeUnchanged: the same payload got a final 4xx or 409 in an earlier
	// run and was not sent again (rejected or conflict).
	CodeUnchanged Code = "unchanged"
	CodeTransport Code = "transport" // no answer: timeout, connection refused or dropped (failed)
	// CodeInDoubt: an attempt may have stored the result and nothing could
	// tell whether it did (failed; check the activity before sending again).
	CodeInDoubt     Code = "in_doubt"
	CodeNotResult   Code = "not_a_result"   // a 2xx that is not the API's (a proxy's HTML page) (failed)
	CodeNotSendable Code = "client_refused" // the client would not send it: a redirect elsewhere, an untrusted certificate (failed)
)

// APICode is the code of an API answer with this HTTP status, api_404 for
// a 404, for the statuses that have no name of their own (409 is
// CodeConflict).
func APICode(status int) Code {
	if status == 409 {
		return CodeConflict
	}
	return Code("api_" + strconv.Itoa(status))
}
