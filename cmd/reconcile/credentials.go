package main

import (
	"os"
	"strings"

	"github.com/reten/reconcile/internal/api"
)

// clientFromEnv builds the API client from RETEN_BASE_URL and RETEN_API_KEY (or
// RETEN_API_KEY_FILE, a file holding the key). Keys are never taken from flags:
// flags show up in `ps`.
func clientFromEnv(env *environ) (*api.Client, error) {
	base := strings.TrimSpace(env.getenv("RETEN_BASE_URL"))
	if base == "" {
		return nil, usageError("RETEN_BASE_URL is not set: export RETEN_BASE_URL=https://api.reten.ai (or the staging/development URL, or a sandbox's address)")
	}
	key, err := apiKeyFromEnv(env)
	if err != nil {
		return nil, err
	}
	c, err := api.NewClient(base, key)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return c, nil
}

func apiKeyFromEnv(env *environ) (string, error) {
	key := env.getenv("RETEN_API_KEY")
	if file := env.getenv("RETEN_API_KEY_FILE"); key == "" && file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return "", usageError("reading RETEN_API_KEY_FILE: %v", err)
		}
		// A trailing newline is what editors leave; anything else is the user's.
		key = strings.TrimRight(string(data), "\r\n")
	}
	if key == "" {
		return "", usageError("RETEN_API_KEY is not set: export the rtn_sk_... key shown when it was created (or put it in a file and set RETEN_API_KEY_FILE)")
	}
	return key, nil
}
