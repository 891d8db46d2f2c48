// Command webpreview times the web console on a large file, through HTTP as
// a browser drives it: upload, file settings, mapping (which checks every
// row), preview pages at the start, the end and filtered, and a corrected
// cell (which checks the whole file again). It prints the median of each
// step over the runs and the process's peak RSS (server and client: the
// client streams the file, so the figure is the server's but for a few MB).
//
//	go run ./bench/webpreview -rows 100000 -runs 5
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/reten/reconcile/bench/benchdata"
	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/validate"
	"github.com/reten/reconcile/internal/web"
	"github.com/reten/reconcile/samples"
)

func main() {
	rows := flag.Int("rows", 100000, "rows of the generated file")
	runs := flag.Int("runs", 5, "uploads of it, each timed")
	kind := flag.String("kind", "csv", "csv or xlsx")
	file := flag.String("file", "", "a file bench/gen wrote, rather than a new one of -rows and -kind")
	flag.Parse()
	dir, err := os.MkdirTemp("", "webpreview-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if *file == "" {
		*file = filepath.Join(dir, "input."+*kind)
		if *kind == "xlsx" {
			err = benchdata.WriteXLSX(*file, *rows)
		} else {
			err = benchdata.WriteCSV(*file, *rows)
		}
		if err != nil {
			log.Fatal(err)
		}
	} else if *kind = strings.TrimPrefix(filepath.Ext(*file), "."); *kind != "csv" && *kind != "xlsx" {
		log.Fatalf("-file %s: not a .csv or .xlsx", *file)
	}
	data, _ := samples.FS.ReadFile("tenant.json")
	tenant, err := sandbox.ParseTenant(data)
	if err != nil {
		log.Fatal(err)
	}
	const token = "bench-token"
	srv, err := web.New(web.Options{StateDir: filepath.Join(dir, "state"), Token: token, MaxUpload: 1 << 30,
		Catalogue: &validate.Catalogue{Configs: tenant.Configs}})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, srv)
	c := &client{base: "http://" + ln.Addr().String()}
	jar, _ := cookiejar.New(nil)
	c.http = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	c.must(c.form("/login", url.Values{"token": {token}}, ""))
	page := c.body(c.get("/upload"))
	c.csrf = regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindStringSubmatch(page)[1]

	fi, _ := os.Stat(*file)
	fmt.Printf("file: %d rows, %s, %.1f MB\n", *rows, *kind, float64(fi.Size())/1e6)
	steps := []string{"upload", "settings page", "map page", "map (checks every row)", "preview page 1", "preview last page", "correct a cell (checks again)", "preview invalid filter"}
	times := map[string][]time.Duration{}
	for range *runs {
		var id string
		timed := func(step string, f func()) {
			start := time.Now()
			f()
			times[step] = append(times[step], time.Since(start))
		}
		timed(steps[0], func() { id = c.upload(*file) })
		timed(steps[1], func() { c.body(c.get("/uploads/" + id)) })
		timed(steps[2], func() { c.body(c.get("/uploads/" + id + "/map")) })
		timed(steps[3], func() {
			v := url.Values{}
			for i, h := range benchdata.Header {
				v.Set(fmt.Sprintf("f%d", i), h)
			}
			c.must(c.form("/uploads/"+id+"/map", v, c.csrf))
		})
		timed(steps[4], func() { c.body(c.get("/uploads/" + id + "/preview")) })
		timed(steps[5], func() { c.body(c.get(fmt.Sprintf("/uploads/%s/preview?page=%d", id, (*rows+49)/50))) })
		timed(steps[6], func() {
			res := c.form("/api/uploads/"+id+"/rows/10", url.Values{"col": {"4"}, "value": {"CLOSED"}}, c.csrf)
			if res.StatusCode != http.StatusOK {
				log.Fatalf("edit: %s", res.Status)
			}
			c.body(res)
		})
		timed(steps[7], func() { c.body(c.get("/uploads/" + id + "/preview?class=invalid")) })
	}
	for _, s := range steps {
		ts := times[s]
		slices.Sort(ts)
		fmt.Printf("%-32s median %8.1f ms  (min %.1f, max %.1f, %d runs)\n", s, ms(ts[len(ts)/2]), ms(ts[0]), ms(ts[len(ts)-1]), len(ts))
	}
	fmt.Printf("peak RSS of the process: %s\n", peakRSS())
	ln.Close()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func peakRSS() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return "unknown"
}

type client struct {
	base, csrf string
	http       *http.Client
}

func (c *client) get(path string) *http.Response {
	res, err := c.http.Get(c.base + path)
	if err != nil {
		log.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		log.Fatalf("GET %s: %s", path, res.Status)
	}
	return res
}

func (c *client) form(path string, v url.Values, csrf string) *http.Response {
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	res, err := c.http.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	return res
}

func (c *client) must(res *http.Response) {
	c.body(res)
	if res.StatusCode != http.StatusSeeOther {
		log.Fatalf("%s: %s", res.Request.URL.Path, res.Status)
	}
}

func (c *client) body(res *http.Response) string {
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		log.Fatal(err)
	}
	return string(b)
}

// upload streams the file as a multipart form, the CSRF field first.
func (c *client) upload(path string) string {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		mw.WriteField("csrf", c.csrf)
		fw, _ := mw.CreateFormFile("file", filepath.Base(path))
		f, err := os.Open(path)
		if err == nil {
			io.Copy(fw, f)
			f.Close()
		}
		pw.CloseWithError(mw.Close())
	}()
	req, _ := http.NewRequest("POST", c.base+"/uploads", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := c.http.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	c.body(res)
	if res.StatusCode != http.StatusSeeOther {
		log.Fatalf("upload: %s", res.Status)
	}
	return strings.TrimPrefix(res.Header.Get("Location"), "/uploads/")
}
