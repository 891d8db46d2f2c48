// Package submit sends validated rows to the integration API: concurrently,
// within a rate, retrying what may succeed later, applying the 409 policy,
// stopping when the key is refused, and recording every attempt in a Ledger
// so that nothing is sent twice across runs. Every item it is given comes out
// as exactly one outcome.Outcome. It knows nothing of how files are parsed or
// reports drawn.
package submit
