// Package validate checks imported rows offline against the tenant's
// downloaded configuration (the Catalogue of result types): every rule of the
// submission contract, and duplicates within a batch. A row comes out as an
// Item: a request ready to send, or every Problem that keeps it from being
// sent, each named in the user's own column. It knows nothing of HTTP or of
// how reports are drawn.
package validate
