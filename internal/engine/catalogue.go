package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/submit"
	"github.com/reten/reconcile/internal/validate"
)

// catalogue is the job's Catalogue, or the cache in ConfigsFile, or the
// result types downloaded through sub's client.
func (j *Job) catalogue(ctx context.Context, sub *submit.Submitter) (*validate.Catalogue, *Failure) {
	switch {
	case j.Catalogue != nil:
		return j.Catalogue, nil
	case j.ConfigsFile != "":
		cat, err := validate.LoadCatalogue(j.ConfigsFile)
		if err != nil {
			return nil, fail(BadInput, err)
		}
		return cat, nil
	case sub == nil || sub.Client == nil:
		return nil, fail(BadInput, errors.New("no result types to validate against: run `reconcile configs pull` first, or pass --configs FILE"))
	}
	cat, err := DownloadCatalogue(ctx, sub)
	if err != nil {
		var f *Failure
		errors.As(err, &f)
		return nil, f
	}
	return cat, nil
}

// DownloadCatalogue downloads the tenant's result types through sub's
// client, retried as sub retries submissions. Its error is a *Failure that
// says what to do: KeyRefused, APIFailed, BadInput (a key that cannot be
// sent) or Interrupted.
func DownloadCatalogue(ctx context.Context, sub *submit.Submitter) (*validate.Catalogue, error) {
	var configs []api.ResultTypeConfig
	err := sub.Retry(ctx, func(ctx context.Context) (err error) {
		configs, err = sub.Client.ListResultTypeConfigs(ctx)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fail(Interrupted, errors.New("interrupted before anything was sent"))
		}
		return nil, apiFailure("downloading the result types", err)
	}
	if len(configs) == 0 {
		return nil, fail(APIFailed, fmt.Errorf("the API at %s lists no result types for this key's tenant: no row could be validated against them", sub.Client.BaseURL))
	}
	return &validate.Catalogue{FetchedAt: time.Now().UTC(), BaseURL: sub.Client.BaseURL, Configs: configs}, nil
}

// apiFailure is the Failure of a request the API answered with an error, or
// that got no answer, with the advice the documentation gives for it.
func apiFailure(what string, err error) *Failure {
	if e, ok := api.AsError(err); ok {
		ending := APIFailed
		if e.Auth() {
			ending = KeyRefused
		}
		msg := fmt.Sprintf("%s: %v", what, e)
		if advice := e.Advice(); advice != "" {
			msg += "\n  what to do: " + advice
		}
		return fail(ending, errors.New(msg))
	}
	var ke *api.KeyError
	if errors.As(err, &ke) {
		return fail(BadInput, err)
	}
	return fail(APIFailed, fmt.Errorf("%s: %w\n  what to do: check RETEN_BASE_URL and the network, then try again", what, err))
}
