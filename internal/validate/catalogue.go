package validate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/atomicfile"
)

// Catalogue is the tenant's downloaded configuration, cached in a file so that
// validation needs no network.
type Catalogue struct {
	// FetchedAt is when the configurations were downloaded.
	FetchedAt time.Time `json:"fetched_at"`
	// BaseURL is where they were downloaded from (never the key).
	BaseURL string                 `json:"base_url"`
	Configs []api.ResultTypeConfig `json:"configs"`
}

// DefaultCataloguePath is where `reconcile configs pull` writes the cache when no
// --out is given: the user's cache directory, so every later run finds it.
func DefaultCataloguePath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "reconcile", "configs.json")
}

// LoadCatalogue reads a cache file written by SaveCatalogue.
func LoadCatalogue(path string) (*Catalogue, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no configuration cache at %s: run `reconcile configs pull` first, or pass --configs FILE", path)
	}
	if err != nil {
		return nil, err
	}
	var c Catalogue
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s is not a configuration cache written by `reconcile configs pull`: %v", path, err)
	}
	if len(c.Configs) == 0 {
		return nil, fmt.Errorf("%s holds no result types: run `reconcile configs pull` again", path)
	}
	return &c, nil
}

// SaveCatalogue writes c to path atomically (a reader never sees half a file).
func SaveCatalogue(path string, c *Catalogue) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteJSON(path, 0o644, c)
}
