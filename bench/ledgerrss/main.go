// Command ledgerrss records rows in a fresh ledger as `reconcile run` does
// (per batch of 512 rows with random UUIDs as activity ids: a LookupAll, a
// BeginAll, a FinishAll), then closes it. It prints the peak resident set
// of each phase, total, anonymous and file-backed (sampled from
// /proc/self/status every 20 ms), the process's peak (VmHWM), the CPU
// seconds used and the page faults that read from the disk: the ledger's
// part of a run's memory, without the requests, the reports or the
// sandbox, in a minute or two for a million rows.
//
//	go run ./bench/ledgerrss -rows 1000000 -dir /tmp/ledgerrss
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/reten/reconcile/internal/ledger"
)

// status is the process's resident set in KiB: total, anonymous,
// file-backed, and the peak so far.
func status() (rss, anon, file, hwm int) {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "VmRSS:":
			rss = n
		case "RssAnon:":
			anon = n
		case "RssFile:":
			file = n
		case "VmHWM:":
			hwm = n
		}
	}
	return
}

type sample struct{ rss, anon, file int }

// sampler keeps the peak of each phase.
type sampler struct {
	timeline bool
	mu       sync.Mutex
	phase    string
	peak     map[string]sample
}

func (s *sampler) set(phase string) {
	s.mu.Lock()
	s.phase = phase
	s.mu.Unlock()
}

func (s *sampler) run(stop <-chan struct{}) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		rss, anon, file, _ := status()
		s.mu.Lock()
		if s.timeline {
			fmt.Fprintf(os.Stderr, "%s %s rss %d anon %d file %d\n", time.Now().Format("15:04:05.000"), s.phase, rss, anon, file)
		}
		if rss > s.peak[s.phase].rss {
			s.peak[s.phase] = sample{rss, anon, file}
		}
		s.mu.Unlock()
	}
}

func uuid() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// usage is the CPU the process has used, and its page faults that read
// from the disk.
func usage() (time.Duration, int64) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Majflt
}

func main() {
	rows := flag.Int("rows", 1_000_000, "rows to record")
	dir := flag.String("dir", "", "state folder (emptied first)")
	timeline := flag.Bool("timeline", false, "print every sample on stderr")
	cpuprofile := flag.String("cpuprofile", "", "`FILE` to write a CPU profile to")
	flag.Parse()
	if *dir == "" {
		log.Fatal("ledgerrss: give -dir")
	}
	// As reconcile run does (cmd/reconcile/send.go), so that the anonymous part compares.
	debug.SetMemoryLimit(48 << 20)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	os.RemoveAll(*dir)
	s := &sampler{timeline: *timeline, phase: "run", peak: map[string]sample{}}
	stop := make(chan struct{})
	go s.run(stop)
	ctx := context.Background()
	start := time.Now()
	path := filepath.Join(*dir, "ledger.db")
	db, err := ledger.Open(path, ledger.Options{Run: "bench"})
	if err != nil {
		log.Fatal(err)
	}
	var hash [32]byte
	for i := 0; i < *rows; i += 512 {
		n := min(512, *rows-i)
		acts := make([]string, n)
		as := make([]ledger.Attempt, n)
		for j := range as {
			rand.Read(hash[:])
			acts[j] = uuid()
			as[j] = ledger.Attempt{Activity: acts[j], Hash: hex.EncodeToString(hash[:]), Run: "bench", File: "rows.csv", Row: i + j + 2}
		}
		if _, err := db.LookupAll(ctx, acts); err != nil {
			log.Fatal(err)
		}
		ts, err := db.BeginAll(ctx, as)
		if err != nil {
			log.Fatal(err)
		}
		fs := make([]ledger.Finished, n)
		for j, t := range ts {
			fs[j] = ledger.Finished{Ticket: t, Outcome: ledger.Outcome{Class: "ok", Status: 201, ResultID: uuid(), Requests: 1}}
		}
		if err := db.FinishAll(ctx, fs); err != nil {
			log.Fatal(err)
		}
	}
	ran := time.Since(start)
	s.set("close")
	if err := db.Close(); err != nil {
		log.Fatal(err)
	}
	closed := time.Since(start) - ran
	s.set("closed")
	time.Sleep(50 * time.Millisecond)
	close(stop)
	_, _, _, hwm := status()
	fi, err := os.Stat(path)
	if err != nil {
		log.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ph := range []string{"run", "close"} {
		p := s.peak[ph]
		fmt.Printf("peak in %-5s rss %7d KiB  anon %7d  file %7d\n", ph, p.rss, p.anon, p.file)
	}
	fmt.Printf("peak RSS (VmHWM) %d KiB\n", hwm)
	cpu, majflt := usage()
	fmt.Printf("rows %d: run %.1f s, close %.1f s, CPU %.1f s, %d page faults read from the disk, ledger %.0f bytes a row\n",
		*rows, ran.Seconds(), closed.Seconds(), cpu.Seconds(), majflt, float64(fi.Size())/float64(*rows))
}
