package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Faults are the misbehaviours the sandbox injects into API requests (never
// into /_sandbox/ ones). The zero value injects none.
type Faults struct {
	// FailRate is the share of requests (0 to 1) answered 500, 502 or 503
	// before anything is stored.
	FailRate float64
	// Latency delays every answer. The wait holds no lock; a client that gives
	// up during it gets no answer and nothing is stored.
	Latency time.Duration
	// RateLimit is the number of requests per second above which requests are
	// answered 429 with Retry-After (whole seconds). Bursts of up to one
	// second's worth are allowed. Zero means no limit.
	RateLimit float64
	// DropRate is the share of requests whose connection is closed with no
	// answer, before anything is stored.
	DropRate float64
	// FailAfterStoreRate is the share of would-be-201 submissions whose result
	// is stored but whose answer is a 500 or a dropped connection (half each):
	// the client cannot tell whether its request landed.
	FailAfterStoreRate float64
	// StoreThen500Rate is the share of would-be-201 submissions whose result
	// is stored but answered 500: an API that fails after its write.
	StoreThen500Rate float64
	// HTML2xxRate is the share of requests answered "200 text/html" with a
	// login page, as a proxy or captive portal in the way does; nothing is
	// stored.
	HTML2xxRate float64
	// EchoKey puts the request's API key in the "id" of every 201 body, as a
	// careless server or proxy might.
	EchoKey bool
	// Hang makes every API request wait, unanswered, until the client gives
	// up (or the server stops): a server that accepts and never answers.
	Hang bool
	// RetryAfter, if not zero, is the Retry-After (whole seconds) of every
	// 429, however long; zero sends the seconds until the next token.
	RetryAfter int
	// Seed seeds the dice: the same seed and the same sequence of requests give
	// the same faults. Zero is a seed like any other.
	Seed int64
}

// faultsJSON is the wire form of Faults for POST /_sandbox/faults, with the
// latency as a Go duration string ("20ms").
type faultsJSON struct {
	FailRate           float64 `json:"fail_rate"`
	Latency            string  `json:"latency"`
	RateLimit          float64 `json:"rate_limit"`
	DropRate           float64 `json:"drop_rate"`
	FailAfterStoreRate float64 `json:"fail_after_store_rate"`
	StoreThen500Rate   float64 `json:"store_then_500_rate"`
	HTML2xxRate        float64 `json:"html_2xx_rate"`
	EchoKey            bool    `json:"echo_key"`
	Hang               bool    `json:"hang"`
	RetryAfter         int     `json:"retry_after"`
	Seed               int64   `json:"seed"`
}

// MarshalJSON writes f as POST /_sandbox/faults accepts it.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{f.FailRate, f.Latency.String(), f.RateLimit, f.DropRate, f.FailAfterStoreRate,
		f.StoreThen500Rate, f.HTML2xxRate, f.EchoKey, f.Hang, f.RetryAfter, f.Seed})
}

// UnmarshalJSON reads the form MarshalJSON writes; the latency may also be a
// number of milliseconds.
func (f *Faults) UnmarshalJSON(data []byte) error {
	var w struct {
		faultsJSON
		Latency json.RawMessage `json:"latency"`
	}
	// A misspelt field would silently mean "no fault": refuse it.
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return err
	}
	*f = Faults{FailRate: w.FailRate, RateLimit: w.RateLimit, DropRate: w.DropRate, FailAfterStoreRate: w.FailAfterStoreRate,
		StoreThen500Rate: w.StoreThen500Rate, HTML2xxRate: w.HTML2xxRate, EchoKey: w.EchoKey, Hang: w.Hang, RetryAfter: w.RetryAfter, Seed: w.Seed}
	if len(w.Latency) > 0 && string(w.Latency) != "null" {
		var s string
		var ms float64
		switch {
		case json.Unmarshal(w.Latency, &s) == nil:
			d, err := time.ParseDuration(s)
			if err != nil {
				return fmt.Errorf("latency %q is not a duration like 20ms", s)
			}
			f.Latency = d
		case json.Unmarshal(w.Latency, &ms) == nil:
			f.Latency = time.Duration(ms * float64(time.Millisecond))
		default:
			return fmt.Errorf("latency must be a duration like \"20ms\"")
		}
	}
	return f.Check()
}

// Check reports a fault setting that makes no sense.
func (f Faults) Check() error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"fail rate", f.FailRate}, {"drop rate", f.DropRate}, {"fail-after-store rate", f.FailAfterStoreRate},
		{"store-then-500 rate", f.StoreThen500Rate}, {"html-2xx rate", f.HTML2xxRate}} {
		if r.v < 0 || r.v > 1 || math.IsNaN(r.v) {
			return fmt.Errorf("%s %v must be between 0 and 1", r.name, r.v)
		}
	}
	if f.FailRate+f.DropRate+f.HTML2xxRate > 1 {
		return fmt.Errorf("fail rate %v, drop rate %v and html-2xx rate %v add up to more than 1", f.FailRate, f.DropRate, f.HTML2xxRate)
	}
	if f.FailAfterStoreRate+f.StoreThen500Rate > 1 {
		return fmt.Errorf("fail-after-store rate %v and store-then-500 rate %v add up to more than 1", f.FailAfterStoreRate, f.StoreThen500Rate)
	}
	if f.RetryAfter < 0 {
		return fmt.Errorf("retry-after %d must be a number of seconds, or 0 for the time until the next token", f.RetryAfter)
	}
	if f.Latency < 0 {
		return fmt.Errorf("latency %v must not be negative", f.Latency)
	}
	if f.RateLimit < 0 || math.IsNaN(f.RateLimit) || math.IsInf(f.RateLimit, 0) {
		return fmt.Errorf("rate limit %v must be a number of requests per second, or 0 for none", f.RateLimit)
	}
	return nil
}

// faultState is one setting of Faults with its dice and token bucket. A new
// one replaces the old on SetFaults, so readers need no lock to find it.
type faultState struct {
	Faults
	mu     sync.Mutex // guards rng, tokens, last
	rng    *rand.Rand
	tokens float64
	last   time.Time
}

func newFaultState(f Faults) *faultState {
	s := uint64(f.Seed)
	return &faultState{Faults: f, rng: rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15)), tokens: math.Max(1, f.RateLimit)}
}

// allow takes a token from the bucket, or says how long until one is there.
func (fs *faultState) allow(now time.Time) (ok bool, wait time.Duration) {
	if fs.RateLimit <= 0 {
		return true, 0
	}
	burst := math.Max(1, fs.RateLimit)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if !fs.last.IsZero() {
		fs.tokens = math.Min(burst, fs.tokens+now.Sub(fs.last).Seconds()*fs.RateLimit)
	}
	fs.last = now
	if fs.tokens >= 1 {
		fs.tokens--
		return true, 0
	}
	return false, time.Duration((1 - fs.tokens) / fs.RateLimit * float64(time.Second))
}

// fault is what the dice decided for one request.
type fault int

const (
	noFault fault = iota
	faultDrop
	fault5xx
	faultHTML
)

// roll decides the fault of one request and, for 5xx, which status.
func (fs *faultState) roll() (fault, int) {
	if fs.FailRate == 0 && fs.DropRate == 0 && fs.HTML2xxRate == 0 {
		return noFault, 0
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	u := fs.rng.Float64()
	switch {
	case u < fs.DropRate:
		return faultDrop, 0
	case u < fs.DropRate+fs.FailRate:
		return fault5xx, []int{500, 502, 503}[fs.rng.IntN(3)]
	case u < fs.DropRate+fs.FailRate+fs.HTML2xxRate:
		return faultHTML, 0
	}
	return noFault, 0
}

// rollAfterStore decides whether a stored result's answer is lost, and how.
func (fs *faultState) rollAfterStore() fault {
	if fs.FailAfterStoreRate == 0 && fs.StoreThen500Rate == 0 {
		return noFault
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	u := fs.rng.Float64()
	switch {
	case u < fs.StoreThen500Rate:
		return fault5xx
	case u >= fs.StoreThen500Rate+fs.FailAfterStoreRate:
		return noFault
	case fs.rng.IntN(2) == 0:
		return fault5xx
	}
	return faultDrop
}
