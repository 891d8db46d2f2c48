// Package submit sends validated rows to the integration API: concurrently,
// within a rate, retrying what may succeed later (exponential backoff with
// jitter, honouring Retry-After), applying the 409 policy after checking
// whether a result the API holds is our own, and recording every attempt in
// a Ledger so that nothing is sent twice across runs. It stops sending when
// the key is refused, when the API asks for a longer wait than the run
// allows, when the API stops answering (a circuit breaker) or when the run's
// deadline passes. Every item it is given comes out as exactly one
// outcome.Outcome. It knows nothing of how files are parsed or reports drawn.
//
// The parts: Submitter and Run (submit.go) stream the items through
// long-lived workers; batch.go is the one place rows meet the ledger (check,
// begin, finish); send.go settles one row; retry.go is the wait between
// attempts; classify.go decides, as pure functions, what one answer means;
// breaker.go notices an API that no longer answers.
package submit
