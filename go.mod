module github.com/reten/reconcile

go 1.26.8

require (
	golang.org/x/sync v0.25.0
	golang.org/x/time v0.16.0
)
