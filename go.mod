module github.com/reten/reconcile

go 1.26.8
